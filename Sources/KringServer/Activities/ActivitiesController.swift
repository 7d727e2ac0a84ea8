import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase

/// Activities, registrations (with waiting list) and evaluations; complaints. Inside the credential's library.
struct ActivitiesController {
    let services: AppServices

    func addRoutes(activities: RouterGroup<KringRequestContext>, registrations: RouterGroup<KringRequestContext>) {
        activities.get { request, context in try await list(request, context) }
        activities.post { request, context in try await create(request, context) }
        activities.get(":id") { _, context in
            let id = try uuid(context, "id", ActivityError.notFound)
            return try await services.inTenant(.activitiesRead, context) { tx, _, _ in try await Activities.find(id, in: tx) }
        }
        activities.get(":id/registrations") { _, context in
            let id = try uuid(context, "id", ActivityError.notFound)
            let items = try await services.inTenant(.activitiesRead, context) { tx, actor, now in
                let registrations = try await Activities.registrations(activityID: id, in: tx)
                try await TenantAudit.record(
                    "activity.registrations_read", subjectType: "activity", subjectID: id.uuidString.lowercased(),
                    by: actor, at: now, in: tx)
                return registrations
            }
            return PageResponse(items: items, nextAfter: nil)
        }
        activities.post(":id/registrations") { request, context in try await register(request, context) }
        registrations.patch(":id") { request, context in
            let id = try uuid(context, "id", ActivityError.registrationNotFound)
            _ = try context.requireTenant(.registrationsWrite)
            let body = try await request.decodeJSON(StatusBody.self, limit: services.settings.maxBodyBytes)
            guard let status = Registration.Status(rawValue: body.status) else {
                throw Problem.validation([
                    FieldError(field: "status", message: "Use one of \(Registration.Status.allCases.map(\.rawValue).joined(separator: ", ")).")
                ])
            }
            return try await services.inTenant(.registrationsWrite, context) { tx, actor, now in
                try await Activities.setStatus(registrationID: id, to: status, by: actor, now: now, in: tx)
            }
        }
        registrations.post(":id/evaluation") { request, context -> HTTPResponse.Status in
            let id = try uuid(context, "id", ActivityError.registrationNotFound)
            _ = try context.requireTenant(.registrationsWrite)
            let body = try await request.decodeJSON(EvaluationBody.self, limit: services.settings.maxBodyBytes)
            try await services.inTenant(.registrationsWrite, context) { tx, actor, now in
                try await Activities.evaluate(registrationID: id, score: body.score, comment: body.comment, by: actor, now: now, in: tx)
            }
            return .created
        }
    }

    struct StatusBody: Decodable { let status: String }
    struct EvaluationBody: Decodable {
        let score: Int
        let comment: String?
    }

    struct RegisterBody: Decodable {
        let customerID: UUID
        let pricePaidCents: Int?
        let source: String?
        enum CodingKeys: String, CodingKey {
            case customerID = "customer_id"
            case pricePaidCents = "price_paid_cents"
            case source
        }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Activity> {
        let page = try Page(request)
        var from: Date?
        if let raw = request.uri.queryParameters["from"] {
            guard let date = try? Date(String(raw), strategy: .iso8601) else { throw Problem.badRequest("from must be an ISO 8601 time.") }
            from = date
        }
        let after = try Cursor.decode(page.after)
        let items = try await services.inTenant(.activitiesRead, context) { tx, _, _ in
            try await Activities.list(from: from, after: after, limit: page.limit, in: tx)
        }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { Cursor.encode($0.startsAt, $0.id) } : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Activity> {
        _ = try context.requireTenant(.activitiesManage)
        let draft = try await request.decodeJSON(ActivityDraft.self, limit: services.settings.maxBodyBytes)
        let activity = try await services.inTenant(.activitiesManage, context) { tx, actor, now in
            try await Activities.create(draft, by: actor, now: now, in: tx)
        }
        return EditedResponse(status: .created, response: activity)
    }

    func register(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Registration> {
        let id = try uuid(context, "id", ActivityError.notFound)
        _ = try context.requireTenant(.registrationsWrite)
        let body = try await request.decodeJSON(RegisterBody.self, limit: services.settings.maxBodyBytes)
        guard let source = Registration.Source(rawValue: body.source ?? "staff") else {
            throw Problem.validation([FieldError(field: "source", message: "Use staff, ticketing or web.")])
        }
        let registration = try await services.inTenant(.registrationsWrite, context) { tx, actor, now in
            try await Activities.register(
                customerID: body.customerID, activityID: id, source: source, pricePaidCents: body.pricePaidCents ?? 0,
                by: actor, now: now, in: tx)
        }
        return EditedResponse(status: .created, response: registration)
    }

}

/// Complaints: take in, list (open first by due date), assign and resolve.
struct ComplaintsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in
            _ = try context.requireTenant(.complaintsRead)
            let page = try Page(request)
            let openOnly = request.uri.queryParameters["status"].map(String.init) != "all"
            let after = try Cursor.decode(page.after)
            let items = try await services.inTenant(.complaintsRead, context) { tx, _, _ in
                try await Complaints.list(openOnly: openOnly, after: after, limit: page.limit, in: tx)
            }
            return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { Cursor.encode($0.dueAt, $0.id) } : nil)
        }
        group.post { request, context in
            _ = try context.requireTenant(.complaintsManage)
            let draft = try await request.decodeJSON(ComplaintDraft.self, limit: services.settings.maxBodyBytes)
            let complaint = try await services.inTenant(.complaintsManage, context) { tx, actor, now in
                try await Complaints.create(draft, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, response: complaint)
        }
        group.patch(":id") { request, context in
            _ = try context.requireTenant(.complaintsManage)
            let id = try uuid(context, "id", ComplaintError.notFound)
            let change = try await request.decodeJSON(ComplaintChange.self, limit: services.settings.maxBodyBytes)
            return try await services.inTenant(.complaintsManage, context) { tx, actor, now in
                try await Complaints.update(id: id, change, by: actor, now: now, in: tx)
            }
        }
    }
}

/// A path parameter that must be a UUID; anything else is the resource's not-found.
func uuid(_ context: KringRequestContext, _ name: String, _ notFound: some Error) throws -> UUID {
    guard let id = UUID(uuidString: try context.parameters.require(name)) else { throw notFound }
    return id
}

/// Opaque keyset cursors `<microseconds since 1970>_<uuid>` for lists ordered by a time and an id
/// (microseconds, as PostgreSQL keeps them, so no entry is skipped or repeated between pages).
enum Cursor {
    static func encode(_ time: Date, _ id: UUID) -> String {
        "\(Int64((time.timeIntervalSince1970 * 1_000_000).rounded()))_\(id.uuidString.lowercased())"
    }

    static func decode(_ raw: String?) throws -> (Date, UUID)? {
        guard let raw else { return nil }
        let parts = raw.split(separator: "_")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
            throw Problem.badRequest("after must be the next_after of the previous page.")
        }
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), id)
    }
}
