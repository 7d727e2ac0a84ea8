import ArgumentParser
import Foundation
import KringCore
import KringDatabase
import Logging
import PostgresNIO

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [MigrateBench.self, ImportBench.self, SegmentBench.self, SendBench.self, MosaicBench.self])

    /// Runs `body` on a scratch database of its own, migrated, then dropped with the roles of the libraries made in
    /// it (roles belong to the cluster). The database `KRING_OWNER_DATABASE_URL` names only lends its server: a
    /// `kring worker` or server running on it never sees the benchmark's libraries, so it cannot take part of the work.
    /// With `keep`, the database and its roles stay for a look afterwards.
    static func withScratchDatabase<T: Sendable>(
        _ env: Environment, maxConnections: Int = 6, keep: Bool = false,
        _ body: (Database) async throws -> T
    ) async throws -> T {
        var configuration = try DatabaseURL.configuration(from: try env.require("KRING_OWNER_DATABASE_URL"))
        let scratch = "kring_bench_\(UInt32.random(in: 0...UInt32.max))"
        let logger = env.logger
        _ = try await env.withOwner { admin in
            try await admin.withConnection { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(scratch)"), logger: logger) }
        }
        print("scratch database: \(scratch)\(keep ? " (kept)" : " (dropped at the end)")")
        configuration.database = scratch
        configuration.options.maximumConnections = maxConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let outcome: Result<T, any Error>
        var roles: [String] = []
        do {
            // The body's failure travels as a value, so the libraries it made are known and their roles dropped too.
            let (value, made) = try await client.whileRunning {
                let owner = Database(client: client, logger: logger)
                _ = try await Migrator(owner: owner, migrations: try MigrationSet.load()).migrate()
                let result: Result<T, any Error>
                do { result = .success(try await body(owner)) } catch { result = .failure(error) }
                let made = try await owner.withPlatform { tx in
                    try await tx.query("SELECT slug FROM tenants").decode(String.self).reduce(into: [String]()) { $0.append($1) }
                }
                return (result, made)
            }
            outcome = value
            roles = made
        } catch {
            outcome = .failure(error)
        }
        if keep { return try outcome.get() }
        try await env.withOwner { admin in
            try await admin.withConnection { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(scratch) WITH (FORCE)"), logger: logger)
                for role in roles.compactMap(TenantSlug.init).map(\.role) {
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \(role.quoted)"), logger: logger)
                }
            }
        }
        return try outcome.get()
    }

    /// How many sends of `campaign` ended in each status, e.g. "20000 sent, 0 failed".
    static func statusCounts(campaign: UUID, tenant: Tenant, owner: Database) async throws -> [(status: String, count: Int)] {
        try await owner.withTenant(tenant) { tx in
            try await tx.query("SELECT status, count(*)::int FROM sends WHERE campaign_id = \(campaign) GROUP BY status ORDER BY status")
                .decode((String, Int).self).reduce(into: [(status: String, count: Int)]()) { $0.append(($1.0, $1.1)) }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    struct MigrateBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Provision N tenants in a scratch database, then time `migrate` twice (the second run is the no-op).")
        @Option var tenants = 100
        @Option var concurrency = 4

        func run() async throws {
            let env = Environment()
            let tag = String(format: "%06d", UInt32.random(in: 0...999_999))
            let slugs = (1...tenants).compactMap { TenantSlug(String(format: "b\(tag)-t%03d", $0)) }
            let migrations = try MigrationSet.load()
            try await Bench.withScratchDatabase(env, maxConnections: concurrency + 2) { owner in
                let migrator = Migrator(owner: owner, migrations: migrations, concurrency: concurrency)
                let provisionStart = ContinuousClock.now
                // Provision without tenant tables, so that run 1 does the real work of migrating every tenant.
                let bare = Migrator(owner: owner, migrations: MigrationSet(platform: migrations.platform, tenant: []))
                let provisioner = TenantProvisioner(migrator: bare)
                for slug in slugs {
                    _ = try await owner.withPlatform { tx in try await provisioner.create(slug: slug, name: "Bench \(slug)", now: Date(), in: tx) }
                }
                let provisioned = ContinuousClock.now - provisionStart
                let firstStart = ContinuousClock.now
                let first = try await migrator.migrate()
                let firstRun = ContinuousClock.now - firstStart
                let secondStart = ContinuousClock.now
                let second = try await migrator.migrate()
                let secondRun = ContinuousClock.now - secondStart
                guard !first.failed, !second.failed, second.tenants.count == tenants,
                    first.tenants.allSatisfy({ $0.applied.count == migrations.tenant.count }),
                    second.tenants.allSatisfy({ $0.applied.isEmpty })
                else {
                    throw ValidationError("unexpected migrate result")
                }
                print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
                print("tenants: \(tenants), tenant migrations: \(migrations.tenant.count), concurrency: \(concurrency)")
                print("provision \(tenants) tenants: \(Self.seconds(provisioned)) s")
                print("migrate run 1 (applies \(migrations.tenant.count) tenant migration(s) to every tenant): \(Self.seconds(firstRun)) s")
                print("migrate run 2 (no-op): \(Self.seconds(secondRun)) s")
            }
        }

        static func seconds(_ duration: Duration) -> String { String(format: "%.3f", Bench.seconds(duration)) }
    }
}
