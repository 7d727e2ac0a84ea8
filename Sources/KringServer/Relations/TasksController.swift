import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// Tasks and reminders: `GET /tasks?assignee=me&due=overdue|week`, create, change (done, moved, handed over), delete.
struct TasksController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in
            _ = try context.requireTenant(.relationsWrite)
            let draft = try await request.decodeJSON(TaskDraft.self, limit: services.settings.maxBodyBytes)
            let valid = try draft.validate()
            try await services.requireStaff([("assignee_user_id", valid.assigneeUserID)], context)
            let task = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
                try await RelationTasks.create(valid, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, headers: [.location: "/api/v1/tasks/\(task.id.uuidString.lowercased())"], response: task)
        }
        group.get(":id") { _, context in
            let id = try taskID(context)
            return try await services.inRelations(.relationsRead, context, probing: [id]) { tx, _, now in
                try await RelationTasks.find(id: id, now: now, in: tx)
            }
        }
        group.patch(":id") { request, context in
            let id = try taskID(context)
            _ = try context.requireTenant(.relationsWrite)
            let change = try await request.decodeJSON(TaskChange.self, limit: services.settings.maxBodyBytes)
            try await services.requireStaff([("assignee_user_id", change.assigneeUserID)], context)
            return try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await RelationTasks.change(id: id, change, by: actor, now: now, in: tx)
            }
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            let id = try taskID(context)
            try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
                try await RelationTasks.delete(id: id, by: actor, now: now, in: tx)
            }
            return .noContent
        }
    }

    private func taskID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.task))
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<RelationTask> {
        // Authorisation before the query is read, so an anonymous caller hears 401 whatever it asks.
        _ = try context.requireTenant(.relationsRead)
        let page = try Page(request)
        let query = RelationsQuery(request: request, context: context)
        var filter = RelationTasks.Filter(limit: page.limit)
        filter.assigneeUserID = try query.staff("assignee")
        filter.due = try query.choice("due", RelationTasks.Due.self)
        if query.text("status") == "all" {
            filter.status = nil
        } else {
            filter.status = try query.choice("status", RelationTask.Status.self) ?? .open
        }
        filter.organisationID = try query.uuid("organisation")
        filter.after = try DayCursor.decode(page.after)
        let items = try await services.inRelations(.relationsRead, context) { tx, _, now in try await RelationTasks.list(filter, now: now, in: tx) }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last.map { DayCursor.encode($0.dueOn, $0.id) } : nil)
    }
}
