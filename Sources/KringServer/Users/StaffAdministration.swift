import Foundation
import KringAuth
import KringCore
import KringDatabase

/// What a library administrator does to staff and API keys, for the API and the web app alike: the checks, the
/// change and its audit record in one place.
public struct StaffAdministration: Sendable {
    public let services: AppServices
    public let principal: Principal
    public let tenant: Tenant
    public let address: String?

    public init(services: AppServices, principal: Principal, tenant: Tenant, address: String?) {
        self.services = services
        self.principal = principal
        self.tenant = tenant
        self.address = address
    }

    private var actor: UUID? { principal.userID }

    public func members(after: UUID? = nil, limit: Int = 200) async throws -> [TenantMember] {
        try await services.db.withPlatform { tx in try await StaffAccounts.members(tenantID: tenant.id, after: after, limit: limit, in: tx) }
    }

    /// Invites a colleague by mail (the mail sets their password); says nothing of whether the account existed.
    public func invite(email rawEmail: String, displayName: String?, role rawRole: String) async throws -> (userID: UUID, email: String, role: Role) {
        var errors: [FieldError] = []
        let email = EmailAddress(rawEmail)
        if email == nil { errors.append(FieldError(field: "email", message: "Not a valid e-mail address.")) }
        let role = Role(rawValue: rawRole).flatMap { Role.tenantRoles.contains($0) ? $0 : nil }
        if role == nil {
            errors.append(StaffError.notATenantRole(rawRole).problem.errors?.first ?? FieldError(field: "role", message: "Unknown role."))
        }
        guard errors.isEmpty, let email, let role else { throw Problem.validation(errors) }
        let now = services.now()
        return try await services.db.withPlatform { tx in
            let invitation = try await AdminTenantsController.invite(
                email: email, displayName: displayName ?? "", role: role,
                tenant: tenant, handingOverToken: false, now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "user.invited", tenantID: tenant.id, actorUserID: actor,
                    targetType: "user", targetID: invitation.userID.uuidString.lowercased(),
                    ip: address, details: ["role": role.rawValue]), at: now, in: tx)
            return (invitation.userID, invitation.email, role)
        }
    }

    /// Changes a colleague's role or switches their membership off or on. Another library's user is `notFound`
    /// (and the probe is audited).
    public func update(userID: UUID, role rawRole: String?, disabled: Bool?) async throws -> TenantMember {
        let role: Role? = try rawRole.map {
            guard let role = Role(rawValue: $0) else { throw StaffError.notATenantRole($0) }
            return role
        }
        let now = services.now()
        do {
            return try await services.db.withPlatform { tx in
                let member = try await StaffAccounts.updateMember(
                    userID: userID, tenantID: tenant.id, role: role, disabled: disabled, now: now, in: tx)
                var details: [String: String] = ["role": member.role.rawValue]
                if let disabled { details["disabled"] = String(disabled) }
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "membership.updated", tenantID: tenant.id, actorUserID: actor,
                        targetType: "user", targetID: userID.uuidString.lowercased(),
                        ip: address, details: details), at: now, in: tx)
                return member
            }
        } catch StaffError.notFound {
            await auditForeignProbe(userID: userID, now: now)
            throw StaffError.notFound
        }
    }

    /// Turns a colleague's two-factor off (a lost phone): they set it up again at their next sign-in where it is
    /// required. Their sessions end. Audited.
    public func resetTwoFactor(userID: UUID) async throws {
        let now = services.now()
        let isMember = try await services.db.withPlatform { tx in
            try await StaffAccounts.member(userID: userID, tenantID: tenant.id, in: tx) != nil
        }
        guard isMember else {
            await auditForeignProbe(userID: userID, now: now)
            throw StaffError.notFound
        }
        // The second factor belongs to the person, not to this library: someone who also works elsewhere (or for
        // Probiblio) is reset by Probiblio, so one library cannot weaken another's sign-in.
        let sharedAccount = try await services.db.withPlatform { tx in
            let elsewhere = try await StaffAccounts.isMemberElsewhere(userID: userID, tenantID: tenant.id, in: tx)
            let platformAdmin = try await tx.query("SELECT 1 FROM platform.platform_admins WHERE user_id = \(userID)").decode(Int.self).first { _ in
                true
            }
            return elsewhere || platformAdmin != nil
        }
        guard !sharedAccount else { throw StaffError.sharedAccount }
        try await services.db.withPlatform { tx in
            try await TwoFactor.reset(userID: userID, now: now, in: tx)
            try await Sessions.revokeAll(userID: userID, tenantID: tenant.id, reason: "two_factor_reset", now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "two_factor.reset", tenantID: tenant.id, actorUserID: actor,
                    targetType: "user", targetID: userID.uuidString.lowercased(), ip: address), at: now, in: tx)
        }
    }

    private func auditForeignProbe(userID: UUID, now: Date) async {
        let foreign =
            (try? await services.db.withPlatform { tx in
                try await StaffAccounts.isMemberElsewhere(userID: userID, tenantID: tenant.id, in: tx)
            }) ?? false
        guard foreign else { return }
        await PlatformAudit.record(
            AuditEvent(
                action: "access.foreign_resource", tenantID: tenant.id, actorUserID: principal.userID,
                actorAPIKeyID: principal.apiKeyID, targetType: "user",
                targetID: userID.uuidString.lowercased(), ip: address), at: now, using: services.db)
    }

    // MARK: API keys

    public func keys(after: String? = nil, limit: Int = 200) async throws -> [APIKey] {
        try await services.db.withPlatform { tx in try await APIKeys.list(tenantID: tenant.id, after: after, limit: limit, in: tx) }
    }

    /// Creates a key; the answer holds the secret, which is never shown again.
    public func createKey(name: String, scopes: [String], expiresAt: Date?) async throws -> (key: APIKey, secret: String) {
        let now = services.now()
        return try await services.db.withPlatform { tx in
            let created = try await APIKeys.create(
                tenantID: tenant.id, name: name, scopes: scopes, expiresAt: expiresAt,
                environment: services.settings.environment, createdBy: actor, now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "api_key.created", tenantID: tenant.id, actorUserID: actor,
                    targetType: "api_key", targetID: created.key.id, ip: address,
                    details: ["scopes": created.key.scopes.map(\.rawValue).joined(separator: " ")]), at: now, in: tx)
            return (created.key, created.secret)
        }
    }

    /// Revokes a key of this library; another library's key is `notFound` (and the probe is audited).
    public func revokeKey(id: String) async throws {
        let now = services.now()
        do {
            try await services.db.withPlatform { tx in
                let key = try await APIKeys.revoke(id: id, tenantID: tenant.id, now: now, in: tx)
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "api_key.revoked", tenantID: tenant.id, actorUserID: actor,
                        targetType: "api_key", targetID: key.id, ip: address), at: now, in: tx)
            }
        } catch APIKeyError.notFound {
            let foreign = (try? await services.db.withPlatform { tx in try await APIKeys.exists(id: id, in: tx) }) ?? false
            if foreign {
                await PlatformAudit.record(
                    AuditEvent(
                        action: "access.foreign_resource", tenantID: tenant.id, actorUserID: actor,
                        targetType: "api_key", targetID: id, ip: address), at: now, using: services.db)
            }
            throw APIKeyError.notFound
        }
    }
}
