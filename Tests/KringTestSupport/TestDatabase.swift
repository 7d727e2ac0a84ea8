import Foundation
import KringDatabase
import Logging
import PostgresNIO

/// The test cluster started by `Deploy/test.sh` (`KRING_TEST_PG_HOST`, `KRING_TEST_PG_PORT`).
///
/// One migrated template database is made per test run; each suite gets its own copy
/// (`CREATE DATABASE ... TEMPLATE`), which takes milliseconds instead of a migration.
public actor TestDatabase {
    public static let shared = TestDatabase()

    public let host: String
    public let port: Int
    private let template = "kring_template_\(ProcessInfo.processInfo.processIdentifier)"
    // Tasks, not values: actor methods are re-entrant across awaits, and concurrent suites must share one creation.
    private var templateTask: Task<Void, any Error>?
    private var suites: [String: Task<TestEnvironment, any Error>] = [:]
    private var nextConnectionID = 1
    static let logger = Logger(label: "kring-test")

    init() {
        let env = ProcessInfo.processInfo.environment
        host = env["KRING_TEST_PG_HOST"] ?? "127.0.0.1"
        port = env["KRING_TEST_PG_PORT"].flatMap(Int.init) ?? 5432
    }

    public func configuration(user: String, database: String, maxConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: nil, database: database, tls: .disable)
        configuration.options.maximumConnections = maxConnections
        return configuration
    }

    /// A running client; it lives until the test process ends.
    public func client(user: String, database: String, maxConnections: Int = 4) -> PostgresClient {
        let client = PostgresClient(
            configuration: configuration(user: user, database: database, maxConnections: maxConnections),
            backgroundLogger: Self.logger)
        Task { await client.run() }
        return client
    }

    /// Runs one statement on a short-lived connection to the `postgres` database as the owner role.
    private func admin(_ sql: String) async throws {
        nextConnectionID += 1
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: host, port: port, username: "kring_owner", password: nil, database: "postgres", tls: .disable),
            id: nextConnectionID, logger: Self.logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
    }

    private func ensureTemplate() async throws {
        if templateTask == nil { templateTask = Task { try await self.createTemplate() } }
        try await templateTask?.value
    }

    private func createTemplate() async throws {
        try await admin("DROP DATABASE IF EXISTS \(template)")
        try await admin("CREATE DATABASE \(template) OWNER kring_owner")
        // Migrate with a throwaway pool, then close it: a template must have no connections when copied.
        let client = PostgresClient(
            configuration: configuration(user: "kring_owner", database: template, maxConnections: 2),
            backgroundLogger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let report = try await Migrator(owner: Database(client: client, logger: Self.logger), migrations: try MigrationSet.load()).migrate()
            precondition(!report.failed)
        }
    }

    /// A fresh, migrated database for one suite (created once per suite name and shared by its tests).
    public func environment(for suite: String) async throws -> TestEnvironment {
        if let existing = suites[suite] { return try await existing.value }
        let task = Task { try await self.createEnvironment(suite) }
        suites[suite] = task
        return try await task.value
    }

    private func createEnvironment(_ suite: String) async throws -> TestEnvironment {
        try await ensureTemplate()
        let name = "kring_test_\(suite.lowercased().filter { $0.isLetter || $0.isNumber })_\(ProcessInfo.processInfo.processIdentifier)"
        try await admin("DROP DATABASE IF EXISTS \(name)")
        try await admin("CREATE DATABASE \(name) TEMPLATE \(template) OWNER kring_owner")
        let environment = TestEnvironment(
            databaseName: name,
            db: Database(client: client(user: "kring_app", database: name), logger: Self.logger),
            owner: Database(client: client(user: "kring_owner", database: name, maxConnections: 6), logger: Self.logger))
        return environment
    }
}
