import Foundation
import KringCore
import PostgresNIO

/// Creates a library's role, schema and tables, and its row in `platform.tenants`, in the caller's transaction.
///
/// Runs on the owner connection: the application role cannot create roles or schemas.
public struct TenantProvisioner: Sendable {
    public let migrator: Migrator

    public init(migrator: Migrator) {
        self.migrator = migrator
    }

    /// The login role that switches into tenant roles with `set_config('role', ...)`.
    public static let appRole = SQLIdentifier("kring_app")!

    public func create(slug: TenantSlug, name: String, id: UUID = UUID(), now: Date, in tx: PlatformTransaction) async throws -> Tenant {
        // Waits for a running `kring migrate`, so a new tenant is never half-migrated.
        try await tx.query("SELECT pg_advisory_xact_lock(\(Migrator.advisoryLockKey))")
        if try await TenantDirectory.find(slug: slug, in: tx) != nil {
            throw TenantError.duplicateSlug(slug.value)
        }
        let role = slug.role
        let schema = slug.schema
        let roleExists = try await tx.query("SELECT 1 FROM pg_roles WHERE rolname = \(role.name)")
        for try await _ in roleExists { throw TenantError.duplicateSlug(slug.value) }

        // Identifiers cannot be bound; both passed SQLIdentifier validation and are quoted.
        try await tx.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(role.quoted) NOLOGIN NOINHERIT"))
        try await tx.query(PostgresQuery(unsafeSQL: "GRANT \(role.quoted) TO \(Self.appRole.quoted)"))
        try await tx.query(PostgresQuery(unsafeSQL: "GRANT \(role.quoted) TO CURRENT_USER"))
        // The owner role owns the schema and its tables; the tenant role may use them but not create, alter or
        // drop anything (a schema owner could drop the append-only audit log).
        try await tx.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema.quoted) AUTHORIZATION CURRENT_USER"))
        try await tx.query(PostgresQuery(unsafeSQL: "REVOKE ALL ON SCHEMA \(schema.quoted) FROM PUBLIC"))
        try await tx.query(PostgresQuery(unsafeSQL: "GRANT USAGE ON SCHEMA \(schema.quoted) TO \(role.quoted)"))
        // Table privileges are granted by each migration on purpose (audit_log is append-only);
        // sequences behind serial columns are only ever usable, so the tenant role gets them by default.
        try await tx.query(
            PostgresQuery(
                unsafeSQL:
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA \(schema.quoted) GRANT USAGE, SELECT ON SEQUENCES TO \(role.quoted)"))
        try await tx.query(
            """
            INSERT INTO tenants (id, slug, name, status, created_at, updated_at)
            VALUES (\(id), \(slug.value), \(name), 'active', \(now), \(now))
            """)
        let tenant = Tenant(id: id, slug: slug, name: name, status: .active, createdAt: now)
        _ = try await migrator.applyTenantMigrations(to: tenant, applied: [:], in: tx)
        return tenant
    }

    /// Removes a library for good, in the caller's transaction: its schema with every table, its role, and what the
    /// platform holds for it (memberships, sessions, API keys, jobs, migrations, figures). The platform's audit log
    /// keeps its records: they name the library by id and slug only. Answers the number of tables dropped.
    public func delete(_ tenant: Tenant, in tx: PlatformTransaction) async throws -> Int {
        try await tx.query("SELECT pg_advisory_xact_lock(\(Migrator.advisoryLockKey))")
        let role = tenant.slug.role
        let schema = tenant.slug.schema
        let tables =
            try await tx.query(
                "SELECT count(*)::int8 FROM pg_catalog.pg_tables WHERE schemaname = \(schema.name)"
            ).decode(Int.self).first { _ in true } ?? 0
        for statement: PostgresQuery in [
            "DELETE FROM browser_sessions WHERE tenant_id = \(tenant.id)",
            "DELETE FROM refresh_token_families WHERE tenant_id = \(tenant.id)",
            "DELETE FROM memberships WHERE tenant_id = \(tenant.id)",
            "DELETE FROM api_keys WHERE tenant_id = \(tenant.id)",
            "DELETE FROM jobs WHERE tenant_id = \(tenant.id)",
            "DELETE FROM schema_migrations WHERE schema_name = \(schema.name)",
            "DELETE FROM tenants WHERE id = \(tenant.id)",
        ] {
            try await tx.query(statement)
        }
        try await tx.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema.quoted) CASCADE"))
        let roleExists =
            try await tx.query("SELECT count(*)::int8 FROM pg_roles WHERE rolname = \(role.name)").decode(Int.self)
            .first { _ in true } ?? 0
        if roleExists > 0 {
            // What is left granted to the role in this database (e.g. reading the Mosaic reference data) goes with it.
            try await tx.query(PostgresQuery(unsafeSQL: "DROP OWNED BY \(role.quoted)"))
            try await tx.query(PostgresQuery(unsafeSQL: "DROP ROLE \(role.quoted)"))
        }
        return tables
    }
}
