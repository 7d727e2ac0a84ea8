import Foundation
import KringCore
import PostgresNIO

/// Reads and changes tenant rows in the control schema.
public enum TenantDirectory {
    public static func find(id: UUID, in tx: PlatformTransaction) async throws -> Tenant? {
        let rows = try await tx.query("SELECT id, slug, name, status, created_at FROM tenants WHERE id = \(id)")
        for try await row in rows { return try Tenant(row: row) }
        return nil
    }

    public static func find(slug: TenantSlug, in tx: PlatformTransaction) async throws -> Tenant? {
        let rows = try await tx.query("SELECT id, slug, name, status, created_at FROM tenants WHERE slug = \(slug.value)")
        for try await row in rows { return try Tenant(row: row) }
        return nil
    }

    public static func list(in tx: PlatformTransaction) async throws -> [Tenant] {
        let rows = try await tx.query("SELECT id, slug, name, status, created_at FROM tenants ORDER BY slug")
        var tenants: [Tenant] = []
        for try await row in rows { tenants.append(try Tenant(row: row)) }
        return tenants
    }

    /// Sets a tenant's status; suspension takes effect on the next request, since every credential check reads it.
    public static func setStatus(_ status: Tenant.Status, slug: TenantSlug, now: Date, in tx: PlatformTransaction) async throws -> Tenant {
        let rows = try await tx.query(
            """
            UPDATE tenants SET status = \(status.rawValue), updated_at = \(now)
            WHERE slug = \(slug.value)
            RETURNING id, slug, name, status, created_at
            """)
        for try await row in rows { return try Tenant(row: row) }
        throw TenantError.notFound(slug.value)
    }
}
