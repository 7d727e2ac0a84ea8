import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// The contact history: meetings, visit reports (with a follow-up task), calls, logged e-mails, proposals, agreements.
struct InteractionsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in
            _ = try context.requireTenant(.relationsWrite)
            let draft = try await request.decodeJSON(InteractionDraft.self, limit: services.settings.maxBodyBytes)
            let valid = try draft.validate(now: services.now())
            try await services.requireStaff(staffFields(valid), context)
            let interaction = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
                try await Interactions.create(valid, by: actor, now: now, in: tx)
            }
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/interactions/\(interaction.id.uuidString.lowercased())"],
                response: interaction)
        }
        group.get(":id") { _, context in
            let id = try interactionID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, actor, now in
                try await Interactions.read(id: id, by: actor, now: now, in: tx)
            }
        }
        group.put(":id") { request, context in
            let id = try interactionID(context)
            _ = try context.requireTenant(.relationsWrite)
            let draft = try await request.decodeJSON(InteractionDraft.self, limit: services.settings.maxBodyBytes)
            guard draft.followUpTask == nil else {
                throw Problem.validation([FieldError(field: "follow_up_task", message: "Add further tasks with POST /tasks and interaction_id.")])
            }
            let valid = try draft.validate(now: services.now())
            try await services.requireStaff(staffFields(valid), context)
            return try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Interactions.replace(id: id, with: valid, by: actor, now: now, in: tx)
            }
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            let id = try interactionID(context)
            try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await Interactions.delete(id: id, by: actor, now: now, in: tx)
            }
            return .noContent
        }
    }

    private func interactionID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.interaction))
    }

    private func staffFields(_ valid: InteractionDraft.Valid) -> [(field: String, id: UUID?)] {
        valid.staffUserIDs.enumerated().map { ("staff_user_ids[\($0.offset)]", $0.element) }
            + [("follow_up_task.assignee_user_id", valid.followUpTask?.assigneeUserID)]
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Interaction> {
        // Authorisation before the query is read, so an anonymous caller hears 401 whatever it asks.
        _ = try context.requireTenant(.relationsRead)
        let page = try Page(request)
        let query = RelationsQuery(request: request, context: context)
        var filter = Interactions.Filter(limit: page.limit)
        filter.organisationID = try query.uuid("organisation")
        filter.contactID = try query.uuid("contact")
        filter.kind = try query.choice("kind", Interaction.Kind.self)
        filter.query = query.text("q")
        filter.before = try Cursor.decode(page.after)
        let items = try await services.inRelations(.relationsRead, context) { tx, _, _ in try await Interactions.list(filter, in: tx) }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { Cursor.encode($0.occurredAt, $0.id) } : nil)
    }
}
