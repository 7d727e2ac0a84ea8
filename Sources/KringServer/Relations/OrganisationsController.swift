import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase

/// Organisations: search, the account view, create, replace (`If-Match` optional), delete, import; organisation types.
struct OrganisationsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>, types: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await search(request, context) }
        group.post { request, context in try await create(request, context) }
        group.post("import") { request, context in try await RelationImportRoute(services: services, kind: .organisations).handle(request, context) }
        group.get(":id") { _, context in try await accountView(context) }
        group.put(":id") { request, context in try await replace(request, context) }
        group.delete(":id") { _, context in try await delete(context) }

        types.get { _, context in
            let items = try await services.inRelations(.relationsRead, context) { tx, _, _ in try await OrganisationTypes.list(in: tx) }
            return PageResponse(items: items, nextAfter: nil)
        }
        types.post { request, context in
            _ = try context.requireTenant(.relationsWrite)
            let body = try await request.decodeJSON(TypeBody.self, limit: services.settings.maxBodyBytes)
            let type = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
                try await OrganisationTypes.create(code: body.code, name: body.name, by: actor, now: now, in: tx)
            }
            return EditedResponse(status: .created, response: type)
        }
    }

    struct TypeBody: Decodable {
        let code: String
        let name: String
    }

    private func organisationID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", RelationsError.notFound(.organisation))
    }

    private func withVersion<T: ResponseEncodable>(_ value: T, version: Int, status: HTTPResponse.Status = .ok) -> EditedResponse<T> {
        EditedResponse(status: status, headers: [.eTag: "\"\(version)\"", .cacheControl: "no-store"], response: value)
    }

    func search(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Organisation> {
        // Authorisation before the query is read, so an anonymous caller hears 401 whatever it asks.
        _ = try context.requireTenant(.relationsRead)
        let page = try Page(request)
        let query = RelationsQuery(request: request, context: context)
        var search = Organisations.Search(limit: page.limit)
        search.query = query.text("q")
        search.type = query.text("type")
        search.status = try query.choice("status", Organisation.Status.self)
        search.accountOwnerUserID = try query.staff("owner")
        search.parentID = try query.uuid("parent")
        search.tag = query.text("tag")?.lowercased()
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be an organisation id.") }
            search.after = id
        }
        let found = try await services.inRelations(.relationsRead, context) { tx, _, _ in try await Organisations.search(search, in: tx) }
        return PageResponse(items: found, nextAfter: found.count == page.limit ? found.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Organisation> {
        _ = try context.requireTenant(.relationsWrite)
        let draft = try await request.decodeJSON(OrganisationDraft.self, limit: services.settings.maxBodyBytes)
        let valid = try draft.validate()
        try await services.requireStaff([("account_owner_user_id", valid.accountOwnerUserID)], context)
        let organisation = try await services.inRelations(.relationsWrite, context) { tx, actor, now in
            try await Organisations.create(valid, by: actor, now: now, in: tx)
        }
        var response = withVersion(organisation, version: organisation.version, status: .created)
        response.headers[.location] = "/api/v1/organisations/\(organisation.id.uuidString.lowercased())"
        return response
    }

    func accountView(_ context: KringRequestContext) async throws -> EditedResponse<AccountView> {
        let id = try organisationID(context)
        let view = try await services.inRelations(.relationsRead, context, probing: [id]) { tx, actor, now in
            try await Organisations.accountView(id: id, by: actor, now: now, in: tx)
        }
        return withVersion(view, version: view.organisation.version)
    }

    func replace(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Organisation> {
        let id = try organisationID(context)
        _ = try context.requireTenant(.relationsWrite)
        let expected = try RelationsQuery(request: request, context: context).expectedVersion()
        let draft = try await request.decodeJSON(OrganisationDraft.self, limit: services.settings.maxBodyBytes)
        let valid = try draft.validate()
        try await services.requireStaff([("account_owner_user_id", valid.accountOwnerUserID)], context)
        let organisation = try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
            try await Organisations.replace(id: id, with: valid, expectedVersion: expected, by: actor, now: now, in: tx)
        }
        return withVersion(organisation, version: organisation.version)
    }

    func delete(_ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let id = try organisationID(context)
        try await services.inRelations(.relationsWrite, context, probing: [id]) { tx, actor, now in
            try await Organisations.delete(id: id, by: actor, now: now, in: tx)
        }
        return .noContent
    }
}
