import Foundation
import KringAuth
import KringDatabase
import Logging
import ServiceLifecycle

/// Handles one kind of job. Throwing schedules a retry with backoff, up to the job's attempt limit.
public typealias JobHandler = @Sendable (Job) async throws -> Void

/// Runs the job queue: claims due jobs with SKIP LOCKED, so any number of workers can share it.
/// On graceful shutdown it stops claiming and finishes the jobs it holds.
public struct JobWorker: Service {
    public let queue: JobQueue
    public let handlers: [String: JobHandler]
    public let name: String
    public let batchSize: Int
    public let lease: Duration
    public let pollInterval: Duration
    public let now: @Sendable () -> Date
    public let logger: Logger

    public init(
        queue: JobQueue, handlers: [String: JobHandler], name: String = "worker-\(ProcessInfo.processInfo.processIdentifier)",
        batchSize: Int = 10, lease: Duration = .seconds(300), pollInterval: Duration = .seconds(1),
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.queue = queue
        self.handlers = handlers
        self.name = name
        self.batchSize = batchSize
        self.lease = lease
        self.pollInterval = pollInterval
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        logger.info("worker started", metadata: ["worker": "\(name)", "kinds": "\(handlers.keys.sorted())"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let processed: Int
            do {
                processed = try await runOnce()
            } catch {
                logger.error("claiming jobs failed", metadata: ["error": "\(Migrator.describe(error))"])
                processed = 0
            }
            if processed == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
            }
        }
        logger.info("worker stopped", metadata: ["worker": "\(name)"])
    }

    /// Claims one batch and runs it; answers how many jobs it ran.
    @discardableResult
    public func runOnce() async throws -> Int {
        let jobs = try await queue.claim(limit: batchSize, worker: name, lease: lease, now: now(), kinds: Array(handlers.keys))
        for job in jobs {
            do {
                guard let handler = handlers[job.kind] else { throw UnknownKind(kind: job.kind) }
                try await handler(job)
                try await queue.complete(job, worker: name, now: now())
            } catch {
                logger.warning("job failed", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempts)"])
                do {
                    try await queue.fail(job, worker: name, error: Migrator.describe(error), now: now())
                } catch {
                    // The lease runs out and the job is claimed again; the rest of the batch still runs.
                    logger.error("recording a job failure failed", metadata: ["job": "\(job.id)", "error": "\(Migrator.describe(error))"])
                }
            }
        }
        return jobs.count
    }

    struct UnknownKind: Error, CustomStringConvertible {
        let kind: String
        var description: String { "no handler for job kind '\(kind)'" }
    }
}

/// Job kinds of the platform itself.
public enum PlatformJobs {
    /// Removes expired sessions, spent set-up tokens, stale login throttles and sends-per-minute counts older than two
    /// days.
    public static let prune = "platform.prune"

    public static let pruneInterval: TimeInterval = 3600

    public static func handlers(db: Database, now: @escaping @Sendable () -> Date) -> [String: JobHandler] {
        [
            prune: { _ in
                let time = now()
                try await db.withPlatform { tx in
                    try await tx.query("DELETE FROM refresh_token_families WHERE expires_at < \(time.addingTimeInterval(-86400))")
                    try await tx.query("DELETE FROM password_setup_tokens WHERE expires_at < \(time.addingTimeInterval(-86400))")
                    try await BrowserSessions.purgeIdle(now: time, in: tx)
                    try await tx.query("DELETE FROM send_counts WHERE minute < \(time.addingTimeInterval(-2 * 86_400))")
                    try await tx.query(
                        "DELETE FROM login_throttle WHERE last_failure_at < \(time.addingTimeInterval(-86400)) AND (locked_until IS NULL OR locked_until < \(time))"
                    )
                    try await schedulePrune(at: time.addingTimeInterval(pruneInterval), in: tx)
                }
            }
        ]
    }

    /// Queues the next prune unless one is waiting already (the job re-schedules itself; workers seed it at start).
    /// A running prune is still `queued` but leased, so it does not count as waiting.
    public static func schedulePrune(at time: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            INSERT INTO jobs (kind, run_at, created_at)
            SELECT \(prune), \(time), \(time)
            WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = \(prune) AND status = 'queued' AND locked_until IS NULL)
            """)
    }
}
