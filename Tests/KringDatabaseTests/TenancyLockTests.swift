import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Synchronization
import Testing

/// The three tenancy locks of ARCHITECTURE.md, proven against PostgreSQL itself.
@Suite struct TenancyLockTests {
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A pool of exactly one connection, so every borrow gets the same physical connection.
    static func singleConnectionDatabase(_ env: TestEnvironment) async -> Database {
        Database(
            client: await TestDatabase.shared.client(user: "kring_app", database: env.databaseName, maxConnections: 1),
            logger: .init(label: "single"))
    }

    @Test func queryOutsideWithTenantFindsNoTenantTable() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let tenant = try await env.createTenant("a")
        // Unqualified: the empty search_path of kring_app finds nothing.
        await #expect { try await env.db.withConnection { try await $0.query("SELECT count(*) FROM audit_log", logger: env.db.logger) } } throws: {
            Self.sqlState($0) == "42P01"
        }
        // Qualified: NOINHERIT means kring_app itself holds no tenant privileges.
        await #expect {
            try await env.db.withConnection {
                try await $0.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(tenant.slug.schema.quoted).audit_log"), logger: env.db.logger)
            }
        } throws: { Self.sqlState($0) == "42501" }
    }

    @Test func tenantCannotReadAnotherTenantsSchema() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let a = try await env.createTenant("a")
        let b = try await env.createTenant("b")
        // Its own table works ...
        let own = try await env.db.withTenant(a) { tx in
            try await tx.query("SELECT count(*) FROM audit_log").decode(Int.self).reduce(0, +)
        }
        #expect(own == 0)
        // ... another tenant's answers permission denied, not rows.
        await #expect {
            try await env.db.withTenant(a) { tx in
                try await tx.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(b.slug.schema.quoted).audit_log"))
            }
        } throws: { Self.sqlState($0) == "42501" }
        // Nor can a tenant reach the control plane.
        await #expect {
            try await env.db.withTenant(a) { tx in try await tx.query("SELECT count(*) FROM platform.users") }
        } throws: { Self.sqlState($0) == "42501" }
    }

    struct Boom: Error {}

    @Test func pooledConnectionCarriesNoTenantAfterErrorOrRollback() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let tenant = try await env.createTenant("a")
        let db = await Self.singleConnectionDatabase(env)

        func settings() async throws -> (String, String, String) {
            try await db.withConnection { connection in
                let rows = try await connection.query(
                    "SELECT current_setting('search_path'), current_user::text, current_setting('role')", logger: db.logger)
                for try await row in rows.decode((String, String, String).self) { return row }
                throw Boom()
            }
        }
        let clean = try await settings()
        #expect(clean.1 == "kring_app")

        // 1. The body throws a Swift error.
        await #expect(throws: Boom.self) { try await db.withTenant(tenant) { _ in throw Boom() } }
        #expect(try await settings() == clean)
        // 2. A statement fails inside the transaction.
        await #expect(throws: PSQLError.self) { try await db.withTenant(tenant) { tx in try await tx.query("SELECT 1/0") } }
        #expect(try await settings() == clean)
        // 3. A successful transaction commits, and still nothing is left behind.
        let inside = try await db.withTenant(tenant) { tx in
            try await tx.query("SELECT current_user::text").decode(String.self).reduce("", +)
        }
        #expect(inside == tenant.slug.role.name)
        #expect(try await settings() == clean)
    }

    /// With a bounded wait for connections (as `kring serve` has), a request cancelled while it uses its connection
    /// keeps it until its work is done: back in the pool sooner, the connection would carry the request's open
    /// transaction, with its library's role, to the next borrower.
    @Test func aCancelledRequestKeepsItsConnectionUntilItsWorkIsDone() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let db = Database(
            client: await TestDatabase.shared.client(user: "kring_app", database: env.databaseName, maxConnections: 1),
            logger: .init(label: "single"),
            connectionWait: .seconds(5))
        let events = Mutex<[String]>([])
        let first = Task {
            try await db.withConnection { _ in
                events.withLock { $0.append("first leased") }
                // Work that cancellation does not stop (a continuation ignores it).
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { done.resume() }
                }
                events.withLock { $0.append("first done") }
            }
        }
        while events.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
        first.cancel()
        try await db.withConnection { _ in events.withLock { $0.append("second leased") } }
        _ = await first.result
        #expect(events.withLock { $0 } == ["first leased", "first done", "second leased"])
    }

    /// A wait for a connection ends after the bound with `DatabaseUnavailable` (not after PostgresNIO's minute), and the
    /// pool is whole afterwards: the abandoned lease request does not keep a connection.
    @Test func aWaitForAConnectionEndsAtItsBound() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let client = await TestDatabase.shared.client(user: "kring_app", database: env.databaseName, maxConnections: 1)
        let db = Database(client: client, logger: .init(label: "single"), connectionWait: .milliseconds(300))
        // The holder waits without a bound: opening the pool's connection on a busy machine may take longer.
        let unbounded = Database(client: client, logger: .init(label: "single"))
        let held = Mutex(false)
        let holder = Task {
            try await unbounded.withConnection { _ in
                held.withLock { $0 = true }
                try await Task.sleep(for: .seconds(2))
            }
        }
        for _ in 0..<1000 where !held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try #require(held.withLock { $0 })
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: DatabaseUnavailable.self) { try await db.withConnection { _ in } }
        let waited = clock.now - started
        // Well before the holder lets go (2 s), however busy the machine.
        #expect(waited >= .milliseconds(300) && waited < .milliseconds(1900))
        try await holder.value
        // The only connection is free again, and a wait that gets it in time runs its work.
        let answer = try await db.withConnection { connection in
            try await connection.query("SELECT 42", logger: db.logger).decode(Int.self).reduce(0, +)
        }
        #expect(answer == 42)
    }

    @Test func tenantAuditLogIsAppendOnly() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let tenant = try await env.createTenant("a")
        try await env.db.withTenant(tenant) { tx in
            try await TenantAudit.record(
                action: "customer.read", subjectType: "customer", subjectID: "1", actorUserID: UUID(),
                actorAPIKeyID: nil, at: Date(), in: tx)
        }
        // Nor may the tenant role drop or replace the table, or create its own objects in the schema.
        for statement in [
            "UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log", "DROP TABLE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER ALL", "CREATE TABLE audit_log_copy (id int)",
        ] {
            await #expect {
                try await env.db.withTenant(tenant) { tx in try await tx.query(PostgresQuery(unsafeSQL: statement)) }
            } throws: { Self.sqlState($0) == "42501" }
        }
        let count = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*) FROM audit_log").decode(Int.self).reduce(0, +)
        }
        #expect(count == 1)
    }

    @Test func platformAuditLogIsAppendOnlyForTheApp() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        try await env.db.withPlatform { tx in
            try await PlatformAudit.record(AuditEvent(action: "test.event"), at: Date(), in: tx)
        }
        for statement in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"] {
            await #expect {
                try await env.db.withPlatform { tx in try await tx.query(PostgresQuery(unsafeSQL: statement)) }
            } throws: { Self.sqlState($0) == "42501" }
        }
    }

    @Test func provisioningCreatesRoleAndSchemaAndRefusesDuplicates() async throws {
        let env = try await TestEnvironment.forSuite("TenancyLocks")
        let tenant = try await env.createTenant("dup")
        let facts = try await env.owner.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT r.rolcanlogin, r.rolinherit, n.nspowner::regrole::text
                FROM pg_roles r, pg_namespace n WHERE r.rolname = \(tenant.slug.role.name) AND n.nspname = \(tenant.slug.schema.name)
                """, logger: env.owner.logger)
            for try await row in rows.decode((Bool, Bool, String).self) { return row }
            throw Boom()
        }
        #expect(facts.0 == false)
        #expect(facts.2 == "kring_owner")
        let provisioner = try env.provisioner
        await #expect(throws: TenantError.duplicateSlug(tenant.slug.value)) {
            try await env.owner.withPlatform { tx in try await provisioner.create(slug: tenant.slug, name: "again", now: Date(), in: tx) }
        }
    }
}
