import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@Suite struct MigrationTests {
    @Test func secondRunIsANoOp() async throws {
        let env = try await TestEnvironment.forSuite("MigrateNoOp")
        _ = try await env.createTenant("m")
        _ = try await env.createTenant("m")
        let migrator = Migrator(owner: env.owner, migrations: try MigrationSet.load())
        let report = try await migrator.migrate()
        #expect(report.platformApplied.isEmpty)
        #expect(report.tenants.count == 2)
        #expect(report.tenants.allSatisfy { $0.applied.isEmpty && $0.error == nil })
        #expect(!report.failed)
    }

    @Test func newTenantMigrationIsAppliedToEveryTenantAndAFailingTenantDoesNotStopTheOthers() async throws {
        let env = try await TestEnvironment.forSuite("MigrateFailure")
        let good1 = try await env.createTenant("g")
        let bad = try await env.createTenant("x")
        let good2 = try await env.createTenant("g")
        let base = try MigrationSet.load()
        let extra = Migration(
            version: 9001, name: "notes",
            sql: """
                DO $$ BEGIN
                  IF current_schema() = '\(bad.slug.schema.name)' THEN RAISE EXCEPTION 'this tenant fails'; END IF;
                END $$;
                CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
                GRANT SELECT, INSERT ON notes TO ${tenant_role};
                """)
        let migrator = Migrator(owner: env.owner, migrations: MigrationSet(platform: base.platform, tenant: base.tenant + [extra]))
        let report = try await migrator.migrate()
        #expect(report.failed)
        let bySlug = Dictionary(uniqueKeysWithValues: report.tenants.map { ($0.slug, $0) })
        #expect(bySlug[good1.slug.value]?.applied == [9001])
        #expect(bySlug[good2.slug.value]?.applied == [9001])
        #expect(bySlug[bad.slug.value]?.error?.contains("this tenant fails") == true)
        // The good tenants can use the new table through their own role; the failed one rolled back whole.
        _ = try await env.db.withTenant(good1) { tx in try await tx.query("INSERT INTO notes (body) VALUES ('ok')") }
        await #expect(throws: PSQLError.self) { try await env.db.withTenant(bad) { tx in try await tx.query("SELECT 1 FROM notes") } }
    }

    @Test func changedAppliedMigrationIsAnError() async throws {
        let env = try await TestEnvironment.forSuite("MigrateChecksum")
        let tenant = try await env.createTenant("c")
        let base = try MigrationSet.load()
        let changedTenant = base.tenant.map { Migration(version: $0.version, name: $0.name, sql: $0.sql + "\n-- edited\n") }
        let report = try await Migrator(owner: env.owner, migrations: MigrationSet(platform: base.platform, tenant: changedTenant)).migrate()
        #expect(report.failed)
        #expect(report.tenants.first { $0.slug == tenant.slug.value }?.error?.contains("was changed after it was applied") == true)

        let changedPlatform = base.platform.map { Migration(version: $0.version, name: $0.name, sql: $0.sql + " ") }
        await #expect(throws: Migrator.ChecksumMismatch.self) {
            _ = try await Migrator(owner: env.owner, migrations: MigrationSet(platform: changedPlatform, tenant: base.tenant)).migrate()
        }
    }

    @Test func migrationFilesAreNumberedAndLoad() throws {
        let set = try MigrationSet.load()
        #expect(!set.platform.isEmpty)
        #expect(!set.tenant.isEmpty)
        #expect(set.platform.map(\.version) == set.platform.map(\.version).sorted())
        #expect(set.tenant.allSatisfy { $0.checksum.count == 64 })
    }
}
