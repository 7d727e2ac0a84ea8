import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase

/// A library administrator's API keys for integrations. The secret is shown once, at creation.
struct APIKeysController {
    let services: AppServices

    struct CreateBody: Decodable {
        let name: String
        let scopes: [String]
        let expiresAt: Date?
        enum CodingKeys: String, CodingKey {
            case name, scopes
            case expiresAt = "expires_at"
        }
    }

    struct KeyResponse: ResponseEncodable, Sendable {
        let id: String
        let name: String
        let scopes: [String]
        let createdAt: Date
        let expiresAt: Date?
        let revokedAt: Date?
        let lastUsedAt: Date?
        init(_ key: APIKey) {
            id = key.id
            name = key.name
            scopes = key.scopes.map(\.rawValue)
            createdAt = key.createdAt
            expiresAt = key.expiresAt
            revokedAt = key.revokedAt
            lastUsedAt = key.lastUsedAt
        }
    }

    struct CreatedKey: ResponseEncodable {
        let apiKey: KeyResponse
        /// The whole key, `kr_<env>_<id>_<secret>`. Not retrievable later.
        let secret: String
    }

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await create(request, context) }
        group.delete(":id") { _, context in try await revoke(context) }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<KeyResponse> {
        let (_, tenant) = try context.requireTenant(.apiKeysManage)
        let page = try Page(request)
        let keys = try await services.db.withPlatform { tx in
            try await APIKeys.list(tenantID: tenant.id, after: page.after, limit: page.limit, in: tx)
        }
        let items = keys.map(KeyResponse.init)
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.id : nil)
    }

    private func administration(_ context: KringRequestContext) throws -> StaffAdministration {
        let (principal, tenant) = try context.requireTenant(.apiKeysManage)
        return StaffAdministration(services: services, principal: principal, tenant: tenant, address: context.clientAddress)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<CreatedKey> {
        let administration = try administration(context)
        let body = try await request.decodeJSON(CreateBody.self, limit: services.settings.maxBodyBytes)
        let created = try await administration.createKey(name: body.name, scopes: body.scopes, expiresAt: body.expiresAt)
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        return EditedResponse(status: .created, headers: headers, response: CreatedKey(apiKey: KeyResponse(created.key), secret: created.secret))
    }

    func revoke(_ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let administration = try administration(context)
        try await administration.revokeKey(id: try context.parameters.require("id"))
        return .noContent
    }
}
