import Foundation
import KringCore
import KringDatabase
import KringInsight
import KringServer
import KringTestSupport
import PostgresNIO
import Testing

/// Offboarding: a library is deleted only after it has been suspended for the grace period (the moment is injected),
/// and then wholly: schema, role, memberships, jobs, figures and migrations; its audit record stays, and the other
/// library is untouched.
@Suite struct TenantDeletionTests {
    @Test func aLibrarySuspendedForTheGracePeriodIsDeletedWhollyAndAnotherIsUntouched() async throws {
        let env = try await TestEnvironment.forSuite("TenantDeletion")
        let leaving = try await env.createTenant("weg")
        let staying = try await env.createTenant("blijft")
        for tenant in [leaving, staying] {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query(
                    """
                    INSERT INTO customers (id, roles, member_number, membership_status, first_name, created_at, updated_at)
                    VALUES (\(UUID()), '{member}', '1', 'active', 'Anna', now(), now())
                    """)
            }
            try await LibraryFigures.snapshot(tenant, at: Date(), db: env.db)
        }
        let user = try await env.createUser(in: leaving, role: .tenantAdmin)
        try await env.createUser(in: staying, role: .frontdesk, email: nil)
        let provisioner = try env.provisioner
        func delete(at now: Date) async throws -> Int {
            try await LibraryAdministration.delete(
                slug: leaving.slug, graceDays: 30, actor: nil, via: "test", now: now, owner: env.owner, provisioner: provisioner
            ).tables
        }

        await #expect(throws: LibraryAdministration.DeletionRefusal.notSuspended(leaving.slug.value)) { try await delete(at: Date()) }
        let suspended = Date()
        try await env.owner.withPlatform { tx in
            _ = try await TenantDirectory.setStatus(.suspended, slug: leaving.slug, now: suspended, in: tx)
            try await PlatformAudit.record(
                AuditEvent(action: "tenant.suspended", tenantID: leaving.id, targetType: "tenant", targetID: leaving.slug.value), at: suspended,
                in: tx)
        }
        await #expect(throws: LibraryAdministration.DeletionRefusal.self, "ten days into the grace period") {
            try await delete(at: suspended.addingTimeInterval(10 * 86_400))
        }
        #expect(try await env.db.withTenant(leaving) { tx in try await tx.query("SELECT 1 FROM customers").collect().count } == 1, "still there")

        let tables = try await delete(at: suspended.addingTimeInterval(31 * 86_400))
        #expect(tables > 20)
        func count(_ sql: PostgresQuery) async throws -> Int {
            try await env.owner.withPlatform { tx in try await tx.query(sql).decode(Int.self).first { _ in true } ?? -1 }
        }
        #expect(try await count("SELECT count(*)::int8 FROM pg_namespace WHERE nspname = \(leaving.slug.schema.name)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM pg_roles WHERE rolname = \(leaving.slug.role.name)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM tenants WHERE id = \(leaving.id)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM memberships WHERE tenant_id = \(leaving.id)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM library_figures WHERE tenant_id = \(leaving.id)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM schema_migrations WHERE schema_name = \(leaving.slug.schema.name)") == 0)
        #expect(try await count("SELECT count(*)::int8 FROM users WHERE id = \(user.id)") == 1, "a person's account is not the library's")
        let record = try await env.owner.withPlatform { tx in
            try await tx.query(
                "SELECT details ->> 'name', details ->> 'tables' FROM audit_log WHERE tenant_id = \(leaving.id) AND action = 'tenant.deleted'"
            ).decode((String, String).self).reduce(into: [(String, String)]()) { $0.append($1) }
        }
        #expect(record.count == 1 && record.first?.0 == leaving.name && record.first?.1 == String(tables))
        // The other library works as before; the deleted one is gone for the application too.
        #expect(try await env.db.withTenant(staying) { tx in try await tx.query("SELECT 1 FROM customers").collect().count } == 1)
        #expect(try await count("SELECT count(*)::int8 FROM library_figures WHERE tenant_id = \(staying.id)") > 0)
        await #expect(throws: LibraryAdministration.DeletionRefusal.notFound(leaving.slug.value)) { try await delete(at: Date()) }
    }
}
