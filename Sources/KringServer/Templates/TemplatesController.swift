import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase

extension Template: ResponseEncodable {}
extension TemplatePreview: ResponseEncodable {}

/// Mail templates: versioned Mustache subject, HTML and text parts, and a preview for one customer.
///
/// A part that does not parse answers 422 naming the part (`subject`, `html` or `text`) and the parser's complaint.
/// The preview renders real personal data, so it needs `campaigns:write` and the read is audited.
struct TemplatesController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await create(request, context) }
        group.get(":id") { request, context in try await read(request, context) }
        group.put(":id") { request, context in try await replace(request, context) }
        group.post(":id/preview") { request, context in try await preview(request, context) }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Template> {
        let page = try Page(request)
        var after: UUID?
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a template id.") }
            after = id
        }
        let items = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            try await Templates.list(after: after, limit: page.limit, in: tx)
        }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Template> {
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(TemplateDraft.self, limit: services.settings.maxBodyBytes)
        let template = try await services.inTenant(.campaignsWrite, context) { tx, actor, now in
            try await Templates.create(draft, by: actor, now: now, in: tx)
        }
        var response = versioned(template, status: .created)
        response.headers[.location] = "/api/v1/templates/\(template.id.uuidString.lowercased())"
        return response
    }

    /// The current version, or `?version=N` as it was saved.
    func read(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Template> {
        let id = try templateID(context)
        let version = try requestedVersion(request)
        let template = try await services.inTenant(.campaignsRead, context, record: id, "template", notFound: TemplateError.notFound) { tx, _, _ in
            if let version { try await Templates.find(id: id, version: version, in: tx) } else { try await Templates.find(id: id, in: tx) }
        }
        return versioned(template)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Template> {
        let id = try templateID(context)
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(TemplateDraft.self, limit: services.settings.maxBodyBytes)
        let expected: Int
        if let ifMatch = request.headers[.ifMatch] {
            guard let version = Int(ifMatch.trimmingCharacters(in: CharacterSet(charactersIn: "\" W/"))) else {
                throw Problem.badRequest("If-Match must be the ETag of the template you read, e.g. \"3\".")
            }
            expected = version
        } else if let version = draft.version {
            expected = version
        } else {
            throw TemplateError.versionRequired
        }
        let template = try await services.inTenant(.campaignsWrite, context, record: id, "template", notFound: TemplateError.notFound) {
            tx, actor, now in
            try await Templates.replace(id: id, with: draft, expectedVersion: expected, by: actor, now: now, in: tx)
        }
        return versioned(template)
    }

    struct PreviewBody: Decodable {
        /// The customer to render for, or (for a B2B template) the business contact.
        let customerId: UUID?
        let contactId: UUID?
        let version: Int?
        let subject: String?
        /// What a send's context would hold, e.g. `{"activity_id": ...}` for a reminder.
        let context: [String: String]?

        enum CodingKeys: String, CodingKey {
            case customerId = "customer_id"
            case contactId = "contact_id"
            case version, subject, context
        }
    }

    func preview(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<TemplatePreview> {
        let id = try templateID(context)
        let (principal, tenant) = try context.requireTenant(.campaignsWrite)
        let body = try await request.decodeJSON(PreviewBody.self, limit: services.settings.maxBodyBytes)
        if let version = body.version, version < 1 { throw Problem.badRequest("version must be a whole number from 1.") }
        let recipient: Recipient
        switch (body.customerId, body.contactId) {
        case (let customer?, nil): recipient = .customer(customer)
        case (nil, let contact?):
            // A contact's data is business-relations data.
            guard principal.allows(.relationsRead) else { throw Problem.forbidden("Previewing for a contact needs relations:read.") }
            recipient = .contact(contact)
        default:
            throw Problem.validation([FieldError(field: "customer_id", message: "Give customer_id or contact_id (one of them).")])
        }
        let preview: TemplatePreview
        do {
            preview = try await services.inTenant(
                .campaignsWrite, context, record: id, "template", notFound: TemplateError.notFound,
                probing: recipient.customerID.map { [$0] } ?? []
            ) { tx, actor, now in
                try await Templates.preview(
                    id: id, version: body.version, subject: body.subject, recipient: recipient,
                    sendContext: body.context ?? [:], library: tenant.name, by: actor, now: now, in: tx)
            }
        } catch RelationsError.notFound(.contact) {
            // Maybe another library's contact: the probe is audited, as for an unknown customer.
            if let contact = recipient.contactID {
                try await services.auditUnknownResource("contact", id: contact, permission: .campaignsWrite, context)
            }
            throw RelationsError.notFound(.contact)
        }
        // The mail shows the customer's personal data.
        return EditedResponse(headers: [.cacheControl: "no-store"], response: preview)
    }

    // MARK: Helpers

    private func templateID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", TemplateError.notFound)
    }

    private func requestedVersion(_ request: Request) throws -> Int? {
        guard let raw = request.uri.queryParameters["version"] else { return nil }
        guard let value = Int(String(raw)), value >= 1 else { throw Problem.badRequest("version must be a whole number from 1.") }
        return value
    }

    private func versioned(_ template: Template, status: HTTPResponse.Status = .ok) -> EditedResponse<Template> {
        EditedResponse(status: status, headers: [.eTag: "\"\(template.version)\"", .cacheControl: "no-store"], response: template)
    }
}
