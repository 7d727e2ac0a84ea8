import Foundation
import KringCore
import Logging
import PostgresNIO

/// Applies platform migrations, then every tenant's, as the owner role.
///
/// Each file runs once per schema in its own transaction and is recorded in `platform.schema_migrations`
/// with its checksum. A file changed after it was applied stops that schema with an error.
public struct Migrator: Sendable {
    /// The advisory lock shared by `migrate` and tenant provisioning, so neither sees the other half done.
    public static let advisoryLockKey: Int64 = 0x6B72_696E_6701

    public let owner: Database
    public let migrations: MigrationSet
    /// Tenants migrated at once, each on its own connection.
    public let concurrency: Int

    public init(owner: Database, migrations: MigrationSet, concurrency: Int = 4) {
        self.owner = owner
        self.migrations = migrations
        self.concurrency = max(1, concurrency)
    }

    public struct TenantResult: Sendable {
        public let slug: String
        public let applied: [Int]
        public let error: String?
    }

    public struct Report: Sendable {
        public var platformApplied: [Int] = []
        public var tenants: [TenantResult] = []
        public var failed: Bool { tenants.contains { $0.error != nil } }
    }

    public struct ChecksumMismatch: Error, CustomStringConvertible {
        public let schema: String
        public let file: String
        public var description: String { "\(file) was changed after it was applied to schema \(schema); add a new migration instead" }
    }

    public struct UnknownMigration: Error, CustomStringConvertible {
        public let schema: String
        public let version: Int
        public var description: String { "schema \(schema) has migration \(version) applied, which this build does not have" }
    }

    /// Applied versions and checksums per schema.
    typealias Ledger = [String: [Int: String]]

    public func migrate() async throws -> Report {
        try await owner.withConnection { lockConnection in
            try await lockConnection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: owner.logger)
            do {
                let report = try await migrateLocked()
                try await lockConnection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: owner.logger)
                return report
            } catch {
                _ = try? await lockConnection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: owner.logger)
                throw error
            }
        }
    }

    private func migrateLocked() async throws -> Report {
        var report = Report()
        try await owner.withConnection { connection in
            try await connection.query("CREATE SCHEMA IF NOT EXISTS platform", logger: owner.logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS platform.schema_migrations (
                    schema_name text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (schema_name, version)
                )
                """, logger: owner.logger)
        }
        var ledger = try await readLedger()
        for migration in try pending(migrations.platform, schema: "platform", ledger: ledger) {
            try await owner.withPlatform { tx in
                try await tx.connection.runScript(migration.sql, logger: tx.logger)
                try await record(migration, schema: "platform", in: tx.connection)
            }
            report.platformApplied.append(migration.version)
        }
        ledger = try await readLedger()
        let tenants = try await owner.withPlatform { tx in try await TenantDirectory.list(in: tx) }
        let known = ledger
        report.tenants = await withTaskGroup(of: TenantResult.self) { group in
            var results: [TenantResult] = []
            var iterator = tenants.makeIterator()
            func addNext() -> Bool {
                guard let tenant = iterator.next() else { return false }
                group.addTask { await self.migrateTenantReportingErrors(tenant, ledger: known) }
                return true
            }
            for _ in 0..<concurrency where !addNext() { break }
            while let result = await group.next() {
                results.append(result)
                _ = addNext()
            }
            return results.sorted { $0.slug < $1.slug }
        }
        return report
    }

    private func migrateTenantReportingErrors(_ tenant: Tenant, ledger: Ledger) async -> TenantResult {
        do {
            let applied = try await owner.withPlatform { tx in
                try await applyTenantMigrations(to: tenant, applied: ledger[tenant.slug.schema.name] ?? [:], in: tx)
            }
            return TenantResult(slug: tenant.slug.value, applied: applied, error: nil)
        } catch {
            owner.logger.error("tenant migration failed", metadata: ["tenant": "\(tenant.slug)"])
            return TenantResult(slug: tenant.slug.value, applied: [], error: Self.describe(error))
        }
    }

    /// Applies the tenant migrations not yet in `applied`, inside the caller's transaction (used by provisioning too).
    /// Runs as the owner with the tenant schema as search path; each file grants its own privileges to the tenant role.
    public func applyTenantMigrations(to tenant: Tenant, applied: [Int: String], in tx: PlatformTransaction) async throws -> [Int] {
        let schema = tenant.slug.schema
        let todo = try pending(migrations.tenant, schema: schema.name, ledger: [schema.name: applied])
        guard !todo.isEmpty else { return [] }
        try await tx.query("SELECT set_config('search_path', \(schema.name), true)")
        for migration in todo {
            let sql = migration.sql
                .replacingOccurrences(of: "${tenant_role}", with: tenant.slug.role.quoted)
                .replacingOccurrences(of: "${tenant_schema}", with: schema.quoted)
            try await tx.connection.runScript(sql, logger: tx.logger)
            try await record(migration, schema: schema.name, in: tx.connection)
        }
        try await tx.query("SELECT set_config('search_path', 'platform', true)")
        return todo.map(\.version)
    }

    func pending(_ all: [Migration], schema: String, ledger: Ledger) throws -> [Migration] {
        let applied = ledger[schema] ?? [:]
        let byVersion = Dictionary(uniqueKeysWithValues: all.map { ($0.version, $0) })
        for (version, checksum) in applied {
            guard let migration = byVersion[version] else { throw UnknownMigration(schema: schema, version: version) }
            guard migration.checksum == checksum else { throw ChecksumMismatch(schema: schema, file: migration.fileName) }
        }
        return all.filter { applied[$0.version] == nil }
    }

    private func record(_ migration: Migration, schema: String, in connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO platform.schema_migrations (schema_name, version, name, checksum)
            VALUES (\(schema), \(migration.version), \(migration.name), \(migration.checksum))
            """, logger: owner.logger)
    }

    func readLedger() async throws -> Ledger {
        try await owner.withPlatform { tx in
            var ledger: Ledger = [:]
            let rows = try await tx.query("SELECT schema_name, version, checksum FROM schema_migrations")
            for try await (schema, version, checksum) in rows.decode((String, Int, String).self) {
                ledger[schema, default: [:]][version] = checksum
            }
            return ledger
        }
    }

    /// Whether every schema has every migration of this build: the readiness check.
    public static func isCurrent(_ migrations: MigrationSet, in tx: PlatformTransaction) async throws -> Bool {
        let rows = try await tx.query(
            """
            SELECT
              (SELECT count(*) FROM schema_migrations WHERE schema_name = 'platform'),
              (SELECT count(*) FROM tenants),
              (SELECT count(*) FROM schema_migrations m JOIN tenants t ON m.schema_name = 't_' || replace(t.slug, '-', '_'))
            """)
        for try await (platformCount, tenantCount, tenantRows) in rows.decode((Int, Int, Int).self) {
            return platformCount == migrations.platform.count && tenantRows == tenantCount * migrations.tenant.count
        }
        return false
    }

    /// One line for an operator: the server's message for a database error, the description otherwise.
    public static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError, let message = psql.serverInfo?[.message] {
            return message
        }
        return String(describing: error)
    }
}
