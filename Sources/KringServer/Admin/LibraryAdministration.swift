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

    /// How long a library stays suspended before it may be deleted, unless the operator says otherwise.
    public static let deletionGraceDays = 30

    public enum DeletionRefusal: Error, CustomStringConvertible, Equatable {
        case notFound(String)
        case notSuspended(String)
        case inGracePeriod(String, suspendedAt: Date, until: Date)

        public var description: String {
            switch self {
            case .notFound(let slug): "no library \(slug)"
            case .notSuspended(let slug): "\(slug) is not suspended: suspend it first (kring tenant suspend), then wait the grace period"
            case .inGracePeriod(let slug, let at, let until):
                "\(slug) was suspended at \(at.formatted(.iso8601)); it may be deleted from \(until.formatted(.iso8601)) on"
            }
        }
    }

    /// Offboarding: deletes a library that has been suspended for at least `graceDays`, with its schema, role and
    /// everything the platform holds for it, in one transaction on the owner connection. An audit record stays in the
    /// platform (`tenant.deleted`, with the library's name, when it was suspended and the tables dropped).
    public static func delete(
        slug: TenantSlug, graceDays: Int = deletionGraceDays, actor: UUID?, via: String, now: Date, owner: Database, provisioner: TenantProvisioner
    ) async throws -> (tenant: Tenant, tables: Int) {
        try await owner.withPlatform { tx in
            guard let tenant = try await TenantDirectory.find(slug: slug, in: tx) else { throw DeletionRefusal.notFound(slug.value) }
            guard tenant.status == .suspended else { throw DeletionRefusal.notSuspended(slug.value) }
            let suspendedAt =
                try await tx.query(
                    "SELECT max(at) FROM audit_log WHERE tenant_id = \(tenant.id) AND action = 'tenant.suspended'"
                ).decode(Date?.self).first { _ in true } ?? nil
            let since = suspendedAt ?? tenant.createdAt
            let until = since.addingTimeInterval(Double(graceDays) * 86_400)
            guard now >= until else { throw DeletionRefusal.inGracePeriod(slug.value, suspendedAt: since, until: until) }
            let tables = try await provisioner.delete(tenant, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "tenant.deleted", tenantID: tenant.id, actorUserID: actor, targetType: "tenant", targetID: slug.value,
                    details: [
                        "name": tenant.name, "suspended_at": since.formatted(.iso8601), "tables": String(tables), "via": via,
                        "grace_days": String(graceDays),
                    ]),
                at: now, in: tx)
            return (tenant, tables)
        }
    }
}
