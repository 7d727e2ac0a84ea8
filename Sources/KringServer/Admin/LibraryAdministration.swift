import Foundation
import KringAuth
import KringCore
import KringDatabase

/// What Probiblio does to a library as a whole from its console: provision it with its first administrator invited by
/// mail, and suspend or resume it with a reason. Each is one transaction with its audit record.
public enum LibraryAdministration {
    /// Provisions `slug` (schema, role, migrations) and invites `adminEmail` as its administrator: the invitation mail
    /// carries the link to set a password, so no set-up token passes through the console.
    public static func provision(
        slug: TenantSlug, name: String, adminEmail: EmailAddress, adminName: String, actor: UUID?, ip: String?, services: AppServices
    ) async throws -> Tenant {
        let now = services.now()
        return try await services.owner.withPlatform { tx in
            let tenant = try await services.provisioner.create(slug: slug, name: name, now: now, in: tx)
            let invitation = try await AdminTenantsController.invite(
                email: adminEmail, displayName: adminName, role: .tenantAdmin, tenant: tenant, handingOverToken: false, now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "tenant.created", tenantID: tenant.id, actorUserID: actor, targetType: "tenant", targetID: slug.value, ip: ip),
                at: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "user.invited", tenantID: tenant.id, actorUserID: actor, targetType: "user",
                    targetID: invitation.userID.uuidString.lowercased(), ip: ip, details: ["role": Role.tenantAdmin.rawValue]),
                at: now, in: tx)
            return tenant
        }
    }

    /// Suspends or resumes `slug`; the reason is kept in the audit record. Suspension takes effect on the next request.
    public static func setStatus(
        _ status: Tenant.Status, slug: TenantSlug, reason: String, actor: UUID?, ip: String?, services: AppServices
    ) async throws -> Tenant {
        let now = services.now()
        return try await services.db.withPlatform { tx in
            guard let tenant = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
            guard tenant.status != status else { return tenant }
            let changed = try await TenantDirectory.setStatus(status, slug: slug, now: now, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: status == .suspended ? "tenant.suspended" : "tenant.resumed", tenantID: tenant.id, actorUserID: actor,
                    targetType: "tenant", targetID: slug.value, ip: ip, details: ["reason": reason]),
                at: now, in: tx)
            return changed
        }
    }
}
