import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// People at organisations: search, read (audited), create, replace, delete, their roles over time, their consents, import.
struct ContactsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await search(request, context) }
        group.post { request, context in try await create(request, context) }
        group.post("import") { request, context in try await RelationImportRoute(services: services, kind: .contacts).handle(request, context) }
        group.get(":id") { _, context in
            let id = try contactID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, actor, now in
                try await Contacts.read(id: id, by: actor, now: now, in: tx)
            }
        }
        group.put(":id") { request, context in try await replace(request, context) }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            let id = try contactID(context)
            try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Contacts.delete(id: id, by: actor, now: now, in: tx)
            }
            return .noContent
        }
        group.post(":id/roles") { request, context in
            let id = try contactID(context)
            _ = try context.requireTenant(.relationsWrite)
            let draft = try await request.decodeJSON(ContactRoleDraft.self, limit: services.settings.maxBodyBytes)
            let valid = try draft.validate(today: CalendarDate(services.now()))
            let role = try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Contacts.addRole(valid, contactID: id, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, response: role)
        }
        group.patch(":id/roles/:role") { request, context in
            let id = try contactID(context)
            let roleID = try uuid(context, "role", RelationsError.notFound(.contactRole))
            _ = try context.requireTenant(.relationsWrite)
            let change = try await request.decodeJSON(ContactRoleChange.self, limit: services.settings.maxBodyBytes)
            return try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Contacts.changeRole(id: roleID, contactID: id, change, by: actor, now: now, in: tx)
            }
        }
        group.get(":id/consents") { _, context in
            let id = try contactID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, actor, now in
                let history = try await ContactConsents.history(contactID: id, in: tx)
                try await TenantAudit.record(
                    "contact_consent.read", subjectType: "contact", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
                return ConsentList(current: try await ContactConsents.current(contactID: id, in: tx), history: history)
            }
        }
        group.post(":id/consents") { request, context in
            let id = try contactID(context)
            _ = try context.requireTenant(.relationsWrite)
            var draft = try await request.decodeJSON(ContactConsentDraft.self, limit: services.settings.maxBodyBytes)
            if draft.source == "web_form" {
                // The server, not the client, testifies where the statement came from.
                var evidence = draft.evidence ?? [:]
                evidence["client_address"] = context.clientAddress ?? "unknown"
                draft.evidence = evidence
            }
            let consent = try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await ContactConsents.record(draft, contactID: id, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, response: consent)
        }
    }

    struct ConsentList: ResponseEncodable {
        let current: [ContactConsent]
        let history: [ContactConsent]
    }

    private func contactID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.contact))
    }

    func search(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Contact> {
        // Authorisation before the query is read, so an anonymous caller hears 401 whatever it asks.
        _ = try context.requireTenant(.relationsRead)
        let page = try Page(request)
        let query = RelationsQuery(request: request, context: context)
        var search = Contacts.Search(limit: page.limit)
        search.query = query.text("q")
        search.organisationID = try query.uuid("organisation")
        search.dmuRole = try query.choice("dmu_role", DMURole.self)
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a contact id.") }
            search.after = id
        }
        let found = try await services.inRelations(.relationsRead, context) { tx, actor, now in
            try await Contacts.search(search, by: actor, now: now, in: tx)
        }
        return PageResponse(items: found, nextAfter: found.count == page.limit ? found.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<ContactDetail> {
        _ = try context.requireTenant(.relationsWrite)
        let draft = try await request.decodeJSON(ContactDraft.self, limit: services.settings.maxBodyBytes)
        let valid = try draft.validate(today: CalendarDate(services.now()))
        let detail = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
            try await Contacts.create(valid, by: actor, now: now, in: tx)
        }
        return EditedResponse(
            status: .created,
            headers: [
                .location: "/api/v1/contacts/\(detail.contact.id.uuidString.lowercased())",
                .eTag: "\"\(detail.contact.version)\"",
            ], response: detail)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Contact> {
        let id = try contactID(context)
        _ = try context.requireTenant(.relationsWrite)
        let expected = try RelationsQuery(request: request, context: context).expectedVersion()
        let draft = try await request.decodeJSON(ContactDraft.self, limit: services.settings.maxBodyBytes)
        guard draft.roles == nil else {
            throw Problem.validation([FieldError(field: "roles", message: "Change roles with POST and PATCH /contacts/{id}/roles.")])
        }
        let valid = try draft.validate(today: CalendarDate(services.now()))
        let contact = try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
            try await Contacts.replace(id: id, with: valid, expectedVersion: expected, by: actor, now: now, in: tx)
        }
        return EditedResponse(headers: [.eTag: "\"\(contact.version)\"", .cacheControl: "no-store"], response: contact)
    }
}
