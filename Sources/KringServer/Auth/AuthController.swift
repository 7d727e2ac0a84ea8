import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase

/// Login, token refresh, logout, first password, and `GET /me`.
struct AuthController {
    let services: AppServices

    struct LoginBody: Decodable {
        let email: String
        let password: String
        /// The library's slug; omitted by platform administrators.
        let tenant: String?
        /// The code from the authenticator app (or a recovery code), for accounts with two-factor sign-in.
        let totpCode: String?
        enum CodingKeys: String, CodingKey {
            case email, password, tenant
            case totpCode = "totp_code"
        }
    }

    struct RefreshBody: Decodable {
        let refreshToken: String
        enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
    }

    struct PasswordBody: Decodable {
        let setupToken: String
        let password: String
        enum CodingKeys: String, CodingKey {
            case setupToken = "setup_token"
            case password
        }
    }

    /// Routes that take credentials in the body, not in `Authorization`.
    func addPublicRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post("auth/login") { request, context in try await login(request, context) }
        group.post("auth/refresh") { request, context in try await refresh(request, context) }
        group.post("auth/password") { request, context in try await setPassword(request, context) }
    }

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post("auth/logout") { _, context in try await logout(context) }
        group.get("me") { _, context in try await me(context) }
    }

    func login(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(LoginBody.self, limit: services.settings.maxBodyBytes)
        let pair = try await services.authentication.login(
            email: body.email, password: body.password, tenant: body.tenant, code: body.totpCode, address: context.clientAddress)
        return try noStore(pair)
    }

    func refresh(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(RefreshBody.self, limit: services.settings.maxBodyBytes)
        return try noStore(try await services.authentication.refresh(body.refreshToken, address: context.clientAddress))
    }

    func logout(_ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let principal = try context.require(.profileRead)
        guard let userID = principal.userID, let sessionID = principal.sessionID else {
            throw Problem.badRequest("API keys have no session to end; revoke the key instead.")
        }
        try await services.authentication.logout(sessionID: sessionID, userID: userID, tenantID: principal.tenant?.id, address: context.clientAddress)
        return .noContent
    }

    /// Sets a first password with the one-time token from an invitation.
    func setPassword(_ request: Request, _ context: KringRequestContext) async throws -> HTTPResponse.Status {
        let body = try await request.decodeJSON(PasswordBody.self, limit: services.settings.maxBodyBytes)
        if let error = PasswordPolicy.validate(body.password) { throw Problem.validation([error]) }
        try await Self.completeSetup(token: body.setupToken, password: body.password, address: context.clientAddress, services: services)
        return .noContent
    }

    /// Redeems a set-up token with a first password (checked against the policy by the caller), ends the user's open
    /// sessions and audits it; the API route and the invitee's page share it.
    static func completeSetup(token: String, password: String, address: String?, services: AppServices) async throws {
        let hash = try await services.hasher.hash(password)
        let now = services.now()
        try await services.db.withPlatform { tx in
            let userID = try await SetupTokens.redeem(token, now: now, in: tx)
            try await StaffAccounts.setPassword(userID: userID, hash: hash, now: now, in: tx)
            try await Sessions.revokeAll(userID: userID, tenantID: nil, reason: "password_set", now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "user.password_set", actorUserID: userID, targetType: "user",
                    targetID: userID.uuidString.lowercased(), ip: address), at: now, in: tx)
        }
    }

    struct MeResponse: ResponseEncodable {
        struct User: Codable {
            let id: UUID
            let email: String
            let displayName: String
        }
        struct TenantInfo: Codable {
            let id: UUID
            let slug: String
            let name: String
        }
        struct Key: Codable {
            let id: String
            let name: String
            let scopes: [String]
        }
        let user: User?
        let apiKey: Key?
        let tenant: TenantInfo?
        let role: String?
        let permissions: [String]
    }

    func me(_ context: KringRequestContext) async throws -> MeResponse {
        let principal = try context.require(.profileRead)
        let tenant = principal.tenant.map { MeResponse.TenantInfo(id: $0.id, slug: $0.slug.value, name: $0.name) }
        let permissions = principal.permissions.map(\.rawValue).sorted()
        switch principal.credential {
        case .apiKey(let key):
            return MeResponse(
                user: nil, apiKey: .init(id: key.id, name: key.name, scopes: key.scopes.map(\.rawValue)),
                tenant: tenant, role: nil, permissions: permissions)
        case .staff(let userID, _):
            let user = try await services.db.withPlatform { tx in
                let rows = try await tx.query("SELECT id, email, display_name FROM users WHERE id = \(userID)")
                for try await (id, email, name) in rows.decode((UUID, String, String).self) {
                    return MeResponse.User(id: id, email: email, displayName: name)
                }
                throw Problem.unauthorized()
            }
            return MeResponse(user: user, apiKey: nil, tenant: tenant, role: principal.role?.rawValue, permissions: permissions)
        }
    }

    /// Token responses must not be cached by browsers or proxies.
    private func noStore(_ pair: Authentication.TokenPair) throws -> Response {
        let data = try JSONEncoder().encode(pair)
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
