import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase

/// The single customer view: search, profile (360), create, replace with `If-Match`, merge, timeline,
/// consents, household links, GDPR export and erasure. All inside the credential's library.
struct CustomersController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await search(request, context) }
        group.post { request, context in try await create(request, context) }
        group.get(":id") { _, context in try await profile(context) }
        group.put(":id") { request, context in try await replace(request, context) }
        group.post(":id/merge") { request, context in try await merge(request, context) }
        group.get(":id/export") { _, context in try await export(context) }
        group.post(":id/erasure") { _, context in try await erase(context) }
        group.get(":id/timeline") { request, context in try await timeline(request, context) }
        group.post(":id/timeline") { request, context in try await addContactMoment(request, context) }
        group.get(":id/consents") { _, context in try await consents(context) }
        group.post(":id/consents") { request, context in try await recordConsent(request, context) }
        group.post(":id/parents") { request, context in try await linkParent(request, context) }
    }

    // MARK: Helpers

    private func customerID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", CustomerError.notFound)
    }

    private func today() -> CalendarDate { CalendarDate(services.now()) }

    private func withVersion<T: ResponseEncodable>(_ value: T, version: Int, status: HTTPResponse.Status = .ok) -> EditedResponse<T> {
        EditedResponse(status: status, headers: [.eTag: "\"\(version)\"", .cacheControl: "no-store"], response: value)
    }

    // MARK: Routes

    struct CustomerResponse: ResponseEncodable, Sendable {
        let customer: Customer
        func encode(to encoder: any Encoder) throws { try customer.encode(to: encoder) }
    }

    func search(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<CustomerResponse> {
        let page = try Page(request)
        let query = request.uri.queryParameters
        var search = Customers.Search(limit: page.limit)
        search.query = query["q"].map(String.init)
        if let raw = query["role"] {
            guard let role = Customer.RoleKind(rawValue: String(raw)) else { throw Problem.badRequest("role must be member, guest or visitor.") }
            search.role = role
        }
        if let raw = query["member_type"] {
            guard let type = Customer.MemberType(rawValue: String(raw)) else { throw Problem.badRequest("Unknown member_type.") }
            search.memberType = type
        }
        if let raw = query["branch"] {
            guard let id = UUID(uuidString: String(raw)) else { throw Problem.badRequest("branch must be a branch id.") }
            search.branchID = id
        }
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a customer id.") }
            search.after = id
        }
        let found = try await services.inTenant(.customersRead, context) { tx, actor, now in
            try await Customers.search(search, by: actor, now: now, in: tx)
        }
        return PageResponse(
            items: found.map(CustomerResponse.init), nextAfter: found.count == page.limit ? found.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<CustomerResponse> {
        _ = try context.requireTenant(.customersWrite)
        let draft = try await request.decodeJSON(CustomerDraft.self, limit: services.settings.maxBodyBytes)
        let valid = try draft.validate(today: today())
        let customer = try await services.inTenant(.customersWrite, context) { tx, actor, now in
            try await Customers.create(valid, by: actor, now: now, in: tx)
        }
        var response = withVersion(CustomerResponse(customer: customer), version: customer.version, status: .created)
        response.headers[.location] = "/api/v1/customers/\(customer.id.uuidString.lowercased())"
        return response
    }

    func profile(_ context: KringRequestContext) async throws -> EditedResponse<CustomerProfile> {
        let id = try customerID(context)
        let profile = try await services.inTenant(.customersRead, context, probing: [id]) { tx, actor, now in
            try await CustomerPrivacy.profile(id: id, by: actor, now: now, in: tx)
        }
        return withVersion(profile, version: profile.customer.version)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<CustomerResponse> {
        let id = try customerID(context)
        _ = try context.requireTenant(.customersWrite)
        guard let ifMatch = request.headers[.ifMatch] else { throw CustomerError.versionRequired }
        guard let expected = Int(ifMatch.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
            throw Problem.badRequest("If-Match must be the ETag of the customer you read, e.g. \"3\".")
        }
        let draft = try await request.decodeJSON(CustomerDraft.self, limit: services.settings.maxBodyBytes)
        let valid = try draft.validate(today: today())
        let customer = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            try await Customers.replace(id: id, with: valid, expectedVersion: expected, by: actor, now: now, in: tx)
        }
        return withVersion(CustomerResponse(customer: customer), version: customer.version)
    }

    struct MergeBody: Decodable {
        let duplicateID: UUID
        enum CodingKeys: String, CodingKey { case duplicateID = "duplicate_id" }
    }

    func merge(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<CustomerResponse> {
        let id = try customerID(context)
        _ = try context.requireTenant(.customersWrite)
        let body = try await request.decodeJSON(MergeBody.self, limit: services.settings.maxBodyBytes)
        let survivor = try await services.inTenant(.customersWrite, context, probing: [id, body.duplicateID]) { tx, actor, now in
            try await CustomerPrivacy.merge(survivorID: id, duplicateID: body.duplicateID, by: actor, now: now, in: tx)
        }
        return withVersion(CustomerResponse(customer: survivor), version: survivor.version)
    }

    func export(_ context: KringRequestContext) async throws -> EditedResponse<CustomerExport> {
        let id = try customerID(context)
        let export = try await services.inTenant(.customersExport, context, probing: [id]) { tx, actor, now in
            try await CustomerPrivacy.export(id: id, by: actor, now: now, in: tx)
        }
        return EditedResponse(
            headers: [
                .contentDisposition: "attachment; filename=\"customer-\(id.uuidString.lowercased()).json\"",
                .cacheControl: "no-store",
            ], response: export)
    }

    func erase(_ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let id = try customerID(context)
        try await services.inTenant(.customersErase, context, probing: [id]) { tx, actor, now in
            try await CustomerPrivacy.erase(id: id, by: actor, now: now, in: tx)
        }
        return .noContent
    }

    func timeline(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<ContactMoment> {
        let id = try customerID(context)
        let page = try Page(request)
        let before = try Cursor.decode(page.after)
        let moments = try await services.inTenant(.customersRead, context, probing: [id]) { tx, actor, now in
            try await Timeline.list(customerID: id, before: before, limit: page.limit, by: actor, now: now, in: tx)
        }
        let next = moments.count == page.limit ? moments.last.map { Cursor.encode($0.occurredAt, $0.id) } : nil
        return PageResponse(items: moments, nextAfter: next)
    }

    func addContactMoment(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<ContactMoment> {
        let id = try customerID(context)
        _ = try context.requireTenant(.customersWrite)
        let draft = try await request.decodeJSON(ContactMomentDraft.self, limit: services.settings.maxBodyBytes)
        let moment = try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            try await Timeline.add(draft, customerID: id, by: actor, now: now, in: tx)
        }
        return EditedResponse(status: .created, response: moment)
    }

    struct ConsentList: ResponseEncodable {
        let current: [Consent]
        let history: [Consent]
    }

    func consents(_ context: KringRequestContext) async throws -> ConsentList {
        let id = try customerID(context)
        return try await services.inTenant(.customersRead, context, probing: [id]) { tx, actor, now in
            let history = try await Consents.history(customerID: id, in: tx)
            try await TenantAudit.record("consent.read", subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
            return ConsentList(current: try await Consents.current(customerID: id, in: tx), history: history)
        }
    }

    func recordConsent(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Consent> {
        let id = try customerID(context)
        _ = try context.requireTenant(.consentsWrite)
        var draft = try await request.decodeJSON(ConsentDraft.self, limit: services.settings.maxBodyBytes)
        if draft.source == "web_form" {
            // The server, not the client, testifies where the statement came from.
            var evidence = draft.evidence ?? [:]
            evidence["client_address"] = context.clientAddress ?? "unknown"
            draft.evidence = evidence
        }
        let consent = try await services.inTenant(.consentsWrite, context, probing: [id]) { tx, actor, now in
            try await Consents.record(draft, customerID: id, by: actor, now: now, in: tx)
        }
        return EditedResponse(status: .created, response: consent)
    }

    struct ParentBody: Decodable {
        let parentID: UUID
        enum CodingKeys: String, CodingKey { case parentID = "parent_id" }
    }

    func linkParent(_ request: Request, _ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let id = try customerID(context)
        _ = try context.requireTenant(.customersWrite)
        let body = try await request.decodeJSON(ParentBody.self, limit: services.settings.maxBodyBytes)
        try await services.inTenant(.customersWrite, context, probing: [id, body.parentID]) { tx, actor, now in
            try await CustomerPrivacy.linkParent(body.parentID, child: id, by: actor, now: now, in: tx)
        }
        return .noContent
    }
}

/// A library's branches: every role reads them, the tenant admin adds them.
struct BranchesController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { _, context in
            let branches = try await services.inTenant(.branchesRead, context) { tx, _, _ in try await Branches.list(in: tx) }
            return PageResponse(items: branches, nextAfter: nil)
        }
        group.post { request, context in
            _ = try context.requireTenant(.branchesManage)
            let draft = try await request.decodeJSON(BranchDraft.self, limit: services.settings.maxBodyBytes)
            let branch = try await services.inTenant(.branchesManage, context) { tx, actor, now in
                try await Branches.create(draft, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, response: branch)
        }
    }
}
