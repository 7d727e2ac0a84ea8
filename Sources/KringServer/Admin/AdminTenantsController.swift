import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase

/// Probiblio's routes: provision, list, suspend and resume libraries, and invite their administrators.
/// None of them reads a library's member data.
struct AdminTenantsController {
    let services: AppServices

    struct CreateBody: Decodable {
        let slug: String
        let name: String
        let adminEmail: String?
        let adminName: String?
        enum CodingKeys: String, CodingKey {
            case slug, name
            case adminEmail = "admin_email"
            case adminName = "admin_name"
        }
    }

    struct UpdateBody: Decodable {
        let status: String?
        let name: String?
    }

    struct InviteBody: Decodable {
        let email: String
        let displayName: String?
        enum CodingKeys: String, CodingKey {
            case email
            case displayName = "display_name"
        }
    }

    struct TenantResponse: ResponseEncodable, Sendable {
        let id: UUID
        let slug: String
        let name: String
        let status: String
        let createdAt: Date
        init(_ tenant: Tenant) {
            id = tenant.id
            slug = tenant.slug.value
            name = tenant.name
            status = tenant.status.rawValue
            createdAt = tenant.createdAt
        }
    }

    struct Invitation: ResponseEncodable, Sendable {
        let userID: UUID
        let email: String
        let role: String
        /// One-time token to set a first password (`POST /auth/password`); only for an account this invitation created.
        let setupToken: String?
        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case email, role
            case setupToken = "setup_token"
        }
    }

    struct CreatedTenant: ResponseEncodable {
        let tenant: TenantResponse
        let admin: Invitation?
    }

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post { request, context in try await create(request, context) }
        group.get { request, context in try await list(request, context) }
        group.patch(":slug") { request, context in try await update(request, context) }
        group.post(":slug/users") { request, context in try await invite(request, context) }
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<CreatedTenant> {
        let principal = try context.require(.tenantsManage)
        let body = try await request.decodeJSON(CreateBody.self, limit: services.settings.maxBodyBytes)
        var errors: [FieldError] = []
        let slug = TenantSlug(body.slug)
        if slug == nil { errors.append(FieldError(field: "slug", message: "Use 2 to 39 lowercase letters, digits or '-', starting with a letter.")) }
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 200 characters.")) }
        let email = body.adminEmail.map(EmailAddress.init)
        if case .some(.none) = email { errors.append(FieldError(field: "admin_email", message: "Not a valid e-mail address.")) }
        guard errors.isEmpty, let slug else { throw Problem.validation(errors) }

        let now = services.now()
        let result = try await services.owner.withPlatform { tx in
            let tenant = try await services.provisioner.create(slug: slug, name: name, now: now, in: tx)
            var invitation: Invitation?
            if let adminEmail = email ?? nil {
                invitation = try await Self.invite(
                    email: adminEmail, displayName: body.adminName ?? "", role: .tenantAdmin,
                    tenant: tenant, now: now, in: tx)
            }
            try await PlatformAudit.record(
                AuditEvent(
                    action: "tenant.created", tenantID: tenant.id, actorUserID: principal.userID,
                    targetType: "tenant", targetID: slug.value, ip: context.clientAddress), at: now, in: tx)
            return CreatedTenant(tenant: TenantResponse(tenant), admin: invitation)
        }
        return EditedResponse(status: .created, headers: [.location: "/api/v1/admin/tenants/\(slug.value)"], response: result)
    }

    /// Adds `email` to `tenant` with `role`, creating the account if needed. With `handingOverToken` a new account's
    /// set-up token is in the answer (Probiblio provisioning a library's first administrator); otherwise the invitee
    /// gets it by mail and the answer is the same whether or not the account existed.
    static func invite(
        email: EmailAddress, displayName: String, role: Role, tenant: Tenant, handingOverToken: Bool = true, now: Date,
        in tx: PlatformTransaction
    ) async throws -> Invitation {
        let (user, created) = try await StaffAccounts.findOrCreateReporting(email: email, displayName: displayName, now: now, in: tx)
        try await StaffAccounts.addMembership(userID: user.id, tenantID: tenant.id, role: role, displayName: displayName.trimmed(), now: now, in: tx)
        guard handingOverToken else {
            try await StaffInvitations.enqueue(userID: user.id, tenant: tenant, now: now, in: tx)
            return Invitation(userID: user.id, email: user.email, role: role.rawValue, setupToken: nil)
        }
        let token: String? = created ? try await SetupTokens.issue(userID: user.id, now: now, in: tx) : nil
        return Invitation(userID: user.id, email: user.email, role: role.rawValue, setupToken: token)
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<TenantResponse> {
        _ = try context.require(.tenantsManage)
        let page = try Page(request)
        let tenants = try await services.db.withPlatform { tx in try await TenantDirectory.list(in: tx) }
        let items = tenants.filter { page.after == nil || $0.slug.value > page.after! }.prefix(page.limit).map(TenantResponse.init)
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.slug : nil)
    }

    func update(_ request: Request, _ context: KringRequestContext) async throws -> TenantResponse {
        let principal = try context.require(.tenantsManage)
        guard let slug = TenantSlug(try context.parameters.require("slug")) else { throw TenantError.notFound("") }
        let body = try await request.decodeJSON(UpdateBody.self, limit: services.settings.maxBodyBytes)
        let status: Tenant.Status? = try body.status.map {
            guard let status = Tenant.Status(rawValue: $0) else {
                throw Problem.validation([FieldError(field: "status", message: "Use 'active' or 'suspended'.")])
            }
            return status
        }
        let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let name, name.isEmpty || name.count > 200 {
            throw Problem.validation([FieldError(field: "name", message: "Give a name of 1 to 200 characters.")])
        }
        let now = services.now()
        return try await services.db.withPlatform { tx in
            guard var tenant = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
            if let status, status != tenant.status {
                tenant = try await TenantDirectory.setStatus(status, slug: slug, now: now, in: tx)
                try await PlatformAudit.record(
                    AuditEvent(
                        action: status == .suspended ? "tenant.suspended" : "tenant.resumed",
                        tenantID: tenant.id, actorUserID: principal.userID, targetType: "tenant",
                        targetID: slug.value, ip: context.clientAddress), at: now, in: tx)
            }
            if let name, name != tenant.name {
                try await tx.query("UPDATE tenants SET name = \(name), updated_at = \(now) WHERE id = \(tenant.id)")
                tenant.name = name
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "tenant.renamed", tenantID: tenant.id, actorUserID: principal.userID,
                        targetType: "tenant", targetID: slug.value, ip: context.clientAddress), at: now, in: tx)
            }
            return TenantResponse(tenant)
        }
    }

    func invite(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Invitation> {
        let principal = try context.require(.tenantsManage)
        guard let slug = TenantSlug(try context.parameters.require("slug")) else { throw TenantError.notFound("") }
        let body = try await request.decodeJSON(InviteBody.self, limit: services.settings.maxBodyBytes)
        guard let email = EmailAddress(body.email) else {
            throw Problem.validation([FieldError(field: "email", message: "Not a valid e-mail address.")])
        }
        let now = services.now()
        let invitation = try await services.db.withPlatform { tx in
            guard let tenant = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
            let invitation = try await Self.invite(
                email: email, displayName: body.displayName ?? "", role: .tenantAdmin,
                tenant: tenant, now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "user.invited", tenantID: tenant.id, actorUserID: principal.userID,
                    targetType: "user", targetID: invitation.userID.uuidString.lowercased(),
                    ip: context.clientAddress, details: ["role": Role.tenantAdmin.rawValue]), at: now, in: tx)
            return invitation
        }
        return EditedResponse(status: .created, response: invitation)
    }
}
