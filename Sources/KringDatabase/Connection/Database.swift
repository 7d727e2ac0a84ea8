import Foundation
import KringCore
import Logging
import PostgresNIO
import Synchronization

/// The application's way into PostgreSQL, connected as the login role `kring_app`.
///
/// `kring_app` is NOINHERIT with an empty `search_path`: a query that does not go through
/// `withTenant` or `withPlatform` finds no table by its bare name and holds no tenant privileges (fail closed).
public final class Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a transaction waits for a pooled connection before it fails with `DatabaseUnavailable`; nil waits as
    /// long as PostgresNIO does. While the database is unreachable PostgresNIO queues every lease until a connection
    /// succeeds or, after a minute of failed attempts, its circuit breaker trips: the server sets this so that a
    /// request answers 503 within seconds instead of hanging; the worker leaves it nil and waits an outage out.
    public let connectionWait: Duration?
    private let leases = Atomic<Int>(0)
    private let deadlines = LeaseDeadlines()

    /// Passed to PostgresNIO, capped at `info`: at `trace` it logs row contents, which hold personal data.
    public let queryLogger: Logger

    public init(client: PostgresClient, logger: Logger, connectionWait: Duration? = nil) {
        self.client = client
        self.logger = logger
        self.connectionWait = connectionWait
        var queryLogger = logger
        if queryLogger.logLevel < .info { queryLogger.logLevel = .info }
        self.queryLogger = queryLogger
    }

    /// Connections lent out right now, for the pool-usage metric.
    public var connectionsInUse: Int { leases.load(ordering: .relaxed) }

    /// Runs `body` in one transaction as the tenant's role, with the tenant's schema as the only search path.
    ///
    /// Both settings are transaction-local (`set_config(..., true)`), so the pool cannot leak them to the
    /// next borrower, whether the transaction commits, rolls back or the body throws.
    @discardableResult
    public func withTenant<Result: Sendable>(
        _ tenant: Tenant,
        _ body: (TenantTransaction) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await transaction { connection in
                    do {
                        // Read the row: an error raised while the statement runs (not while it is parsed) arrives with
                        // the rows, and left unread it would surface only as 25P02 on the body's first statement.
                        _ = try await connection.rows(TenantSwitch(tenant: tenant), logger: queryLogger)
                    } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
                        // A backend caches the roles kring_app belongs to. When a library is provisioned while that
                        // cache is being rebuilt (seen with many libraries provisioned at once), the backend can keep
                        // missing the new membership until the next role change anywhere. A new backend reads the
                        // catalog afresh, so this connection is closed rather than returned to the pool.
                        try? await connection.close()
                        throw RoleSwitchRefused(underlying: error)
                    }
                    return try await body(TenantTransaction(tenant: tenant, connection: connection, logger: queryLogger))
                }
            } catch let refused as RoleSwitchRefused {
                // Each refusal closes a pooled connection, so within a pool's size of attempts a new backend answers.
                guard attempt < Self.roleSwitchAttempts else { throw refused.underlying }
                logger.warning(
                    "tenant role switch refused; retrying on a new connection",
                    metadata: ["tenant": "\(tenant.slug.value)", "attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(10 * attempt))
                attempt += 1
            }
        }
    }

    static let roleSwitchAttempts = 8

    private struct RoleSwitchRefused: Error {
        let underlying: PSQLError
    }

    /// Runs `body` in one transaction with `platform` as the search path, as `kring_app` itself.
    @discardableResult
    public func withPlatform<Result: Sendable>(
        _ body: (PlatformTransaction) async throws -> Result
    ) async throws -> Result {
        try await transaction { connection in
            _ = try await connection.query("SELECT set_config('search_path', 'platform', true)", logger: queryLogger).collect()
            return try await body(PlatformTransaction(connection: connection, logger: queryLogger))
        }
    }

    /// Runs `body` in one read-only transaction as `kring_console`, with `platform` as the search path: Probiblio's
    /// console, which may read the libraries' daily figures, names and statuses, the job queue's counts, the
    /// migrations, the events on libraries and the Mosaic deliveries (platform migration 0006), and nothing of a
    /// library's schema: the database refuses any other read.
    @discardableResult
    public func withConsole<Result: Sendable>(
        _ body: (PlatformTransaction) async throws -> Result
    ) async throws -> Result {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION READ ONLY", logger: queryLogger)
            _ = try await connection.query(
                "SELECT set_config('search_path', 'platform', true), set_config('role', 'kring_console', true)", logger: queryLogger
            ).collect()
            return try await body(PlatformTransaction(connection: connection, logger: queryLogger))
        }
    }

    /// A bare connection with no schema or role: for health checks, the session check of every request (which names
    /// its `platform` tables in full) and tests of the fail-closed default.
    public func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        guard let connectionWait else {
            return try await client.withConnection { connection in
                leases.add(1, ordering: .relaxed)
                defer { leases.subtract(1, ordering: .relaxed) }
                return try await body(connection)
            }
        }
        return try await withLease(waitingAtMost: connectionWait) { connection in
            leases.add(1, ordering: .relaxed)
            defer { leases.subtract(1, ordering: .relaxed) }
            return try await body(connection)
        }
    }

    /// Leases a connection in a child task, which holds the lease while `body` uses the connection in this task; so
    /// the wait for the lease, and only the wait, can end after `limit` (the lease request is then cancelled). A lease
    /// that fails for want of a connection (the pool's circuit breaker open after a minute of failed attempts) is
    /// unavailable too. The child keeps the lease until `body` has returned, whatever is cancelled meanwhile: a
    /// connection back in the pool while `body` still used it would carry this transaction, and its library's role,
    /// to the next borrower.
    ///
    /// The deadlines of all waits are watched by one task (`LeaseDeadlines`) rather than a timer per lease: a timer
    /// task per request cost a tenth of the server's throughput.
    private func withLease<Result: Sendable>(
        waitingAtMost limit: Duration, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let handover = LeaseHandover()
        let release = LeaseRelease()
        let watch = deadlines.watch(handover, for: limit)
        defer { deadlines.forget(watch) }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { [client] in
                do {
                    try await client.withConnection { connection in
                        // A wait that already ended (its deadline passed, or it was cancelled) gives the connection back.
                        if handover.deliver(.success(connection)) { await release.wait() }
                    }
                } catch {
                    handover.deliver(.failure(error))
                }
            }
            defer { release.release() }
            let connection: PostgresConnection
            do {
                connection = try await handover.connection()
            } catch let unavailable as DatabaseUnavailable {
                throw unavailable
            } catch {
                if Task.isCancelled { throw CancellationError() }
                // A server's answer (a wrong password, an unknown database) is a fault, not an outage.
                if let psql = error as? PSQLError, let state = psql.serverInfo?[.sqlState], !state.hasPrefix("57P"), !state.hasPrefix("08") {
                    throw error
                }
                throw DatabaseUnavailable(reason: "the pool gave no connection: \(Migrator.describe(error))")
            }
            deadlines.forget(watch)
            return try await body(connection)
        }
    }

    /// BEGIN/COMMIT/ROLLBACK by hand rather than `PostgresClient.withTransaction`, so the body's own
    /// error (a feature's problem) reaches the caller unwrapped.
    private func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection { connection in
            try await connection.query("BEGIN", logger: queryLogger)
            let result: Result
            do {
                result = try await body(connection)
            } catch {
                // A connection the body closed on purpose has nothing left to roll back.
                if connection.isClosed { throw error }
                do {
                    try await connection.query("ROLLBACK", logger: queryLogger)
                } catch let rollbackError {
                    // A connection still inside the transaction (with its tenant role) must never return to the pool.
                    logger.error("rollback failed; closing the connection", metadata: ["error": "\(Migrator.describe(rollbackError))"])
                    try? await connection.close()
                }
                throw error
            }
            try await connection.query("COMMIT", logger: queryLogger)
            return result
        }
    }
}

/// A transaction inside one tenant's schema and role. Functions that need tenant data take this as a parameter,
/// so callers compose work into one commit and no tenant query can run outside `withTenant`.
public struct TenantTransaction: Sendable {
    public let tenant: Tenant
    public let connection: PostgresConnection
    public let logger: Logger

    @discardableResult
    public func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger, file: file, line: line)
    }
}

/// A transaction in the control schema `platform`.
public struct PlatformTransaction: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger

    public init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    @discardableResult
    public func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger, file: file, line: line)
    }
}

/// No connection to PostgreSQL: none within `Database.connectionWait` (the database unreachable, or every connection
/// of the pool busy for that long), or the one in use lost. A 503 with `Retry-After`, not a fault of the request.
public struct DatabaseUnavailable: Error, CustomStringConvertible, ProblemConvertible {
    /// For the log.
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }

    public var problem: Problem {
        var problem = Problem.unavailable("The database cannot be reached right now. Try again in a few seconds.")
        problem.retryAfter = 5
        return problem
    }
}

/// A statement with `RETURNING` came back without a row: a bug or a concurrent delete, never user input.
public struct NoRowReturned: Error {
    public init() {}
}

/// The hand-back of a leased connection: `wait` returns once `release` was called (before or after), and, unlike an
/// async sequence, not when its task is cancelled.
final class LeaseRelease: Sendable {
    private let state = Mutex<(released: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.released { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.released = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

/// The outcome of one wait for a pooled connection, settled once: by the lease, its failure, or its deadline.
final class LeaseHandover: Sendable {
    private let state = Mutex<(outcome: Result<PostgresConnection, any Error>?, waiter: CheckedContinuation<PostgresConnection, any Error>?)>(
        (nil, nil))

    /// Settles the wait; false when it was settled before (the connection is then not taken).
    @discardableResult
    func deliver(_ outcome: Result<PostgresConnection, any Error>) -> Bool {
        let (settled, waiter) = state.withLock { state -> (Bool, CheckedContinuation<PostgresConnection, any Error>?) in
            guard state.outcome == nil else { return (false, nil) }
            state.outcome = outcome
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        if settled, let waiter { waiter.resume(with: outcome) }
        return settled
    }

    func connection() async throws -> PostgresConnection {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection, any Error>) in
            let outcome = state.withLock { state -> Result<PostgresConnection, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}

/// The deadlines of the waits for a connection, watched by one task that looks every `tick` while a wait is open
/// and ends when none is: a wait past its deadline ends with `DatabaseUnavailable`, at most a tick late.
final class LeaseDeadlines: Sendable {
    private struct State {
        var next = 0
        var waits: [Int: (deadline: ContinuousClock.Instant, handover: LeaseHandover, limit: Duration)] = [:]
        var watching = false
    }

    private let state = Mutex(State())
    static let tick = DispatchTimeInterval.milliseconds(100)
    /// The watcher runs on a dispatch queue of its own, not on Swift's cooperative threads: work that holds those
    /// threads (password hashing, a busy server) must not delay the end of a wait.
    private let queue = DispatchQueue(label: "kring.lease-deadlines")

    func watch(_ handover: LeaseHandover, for limit: Duration) -> Int {
        let deadline = ContinuousClock.now + limit
        let (id, start) = state.withLock { state -> (Int, Bool) in
            let id = state.next
            state.next += 1
            state.waits[id] = (deadline, handover, limit)
            defer { state.watching = true }
            return (id, !state.watching)
        }
        if start { schedule() }
        return id
    }

    func forget(_ id: Int) {
        _ = state.withLock { $0.waits.removeValue(forKey: id) }
    }

    private func schedule() {
        queue.asyncAfter(deadline: .now() + Self.tick) { [self] in check() }
    }

    /// Ends the waits whose deadline passed; looks again after a tick while any wait remains.
    private func check() {
        let now = ContinuousClock.now
        let (overdue, done) = state.withLock { state -> ([(LeaseHandover, Duration)], Bool) in
            var overdue: [(LeaseHandover, Duration)] = []
            for (id, wait) in state.waits where wait.deadline <= now {
                overdue.append((wait.handover, wait.limit))
                state.waits.removeValue(forKey: id)
            }
            if state.waits.isEmpty { state.watching = false }
            return (overdue, state.waits.isEmpty)
        }
        for (handover, limit) in overdue {
            handover.deliver(.failure(DatabaseUnavailable(reason: "no database connection within \(limit)")))
        }
        if !done { schedule() }
    }
}
