import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase

extension SubscriptionList: ResponseEncodable {}
extension SubscriberCounts: ResponseEncodable {}

/// Subscription lists: create, read, change (a new consent text gets a new version), archive, and count
/// subscribers by status. Whom a list holds is not shown here: counts only.
struct ListsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await create(request, context) }
        group.get(":id") { _, context in
            let id = try listID(context)
            return try await services.inTenant(.campaignsRead, context, record: id, "list", notFound: ListError.notFound) { tx, _, _ in
                try await SubscriptionLists.find(id: id, in: tx)
            }
        }
        group.put(":id") { request, context in try await replace(request, context) }
        group.get(":id/subscribers") { _, context in
            let id = try listID(context)
            return try await services.inTenant(.campaignsRead, context, record: id, "list", notFound: ListError.notFound) { tx, _, _ in
                try await SubscriptionLists.subscriberCounts(id: id, in: tx)
            }
        }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<SubscriptionList> {
        let page = try Page(request)
        let after = try page.afterID("a list id")
        let items = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            try await SubscriptionLists.list(after: after, limit: page.limit, in: tx)
        }
        return PageResponse(items: items, nextAfter: page.nextAfter(items.map(\.id)))
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<SubscriptionList> {
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(SubscriptionListDraft.self, limit: services.settings.maxBodyBytes)
        let list = try await services.inTenant(.campaignsWrite, context) { tx, actor, now in
            try await SubscriptionLists.create(draft, by: actor, now: now, in: tx)
        }
        return EditedResponse(status: .created, headers: [.location: "/api/v1/lists/\(list.id.uuidString.lowercased())"], response: list)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> SubscriptionList {
        let id = try listID(context)
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(SubscriptionListDraft.self, limit: services.settings.maxBodyBytes)
        return try await services.inTenant(.campaignsWrite, context, record: id, "list", notFound: ListError.notFound) { tx, actor, now in
            try await SubscriptionLists.replace(id: id, with: draft, by: actor, now: now, in: tx)
        }
    }

    private func listID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", ListError.notFound)
    }
}

extension Page {
    /// `after` as an id (keyset on uuid); anything else answers 400.
    func afterID(_ what: String) throws -> UUID? {
        guard let raw = after else { return nil }
        guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be \(what).") }
        return id
    }

    /// The cursor of the next page: the last id when the page is full.
    func nextAfter(_ ids: [UUID]) -> String? {
        ids.count == limit ? ids.last?.uuidString.lowercased() : nil
    }
}

extension AppServices {
    /// Audits a request for an id the caller's library does not have (it may be another library's), in a transaction
    /// of its own: the request's transaction rolls back.
    public func auditUnknownResource(_ subjectType: String, id: UUID, permission: Permission, _ context: KringRequestContext) async throws {
        let (principal, tenant) = try context.requireTenant(permission)
        let actor = AuditActor(userID: principal.userID, apiKeyID: principal.apiKeyID)
        let now = self.now()
        try? await db.withTenant(tenant) { tx in
            try await TenantAudit.record(
                "access.unknown_resource", subjectType: subjectType, subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        }
    }
}
