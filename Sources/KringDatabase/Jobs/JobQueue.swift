import Foundation
import PostgresNIO

/// A unit of background work in `platform.jobs`.
public struct Job: Sendable, Hashable {
    public let id: Int64
    public let tenantID: UUID?
    public let kind: String
    /// JSON text; each job kind decodes its own payload.
    public let payload: String
    public let attempts: Int
    public let maxAttempts: Int

    static let columns = "id, tenant_id, kind, payload::text, attempts, max_attempts"

    init(row: PostgresRow) throws {
        (id, tenantID, kind, payload, attempts, maxAttempts) = try row.decode((Int64, UUID?, String, String, Int, Int).self)
    }
}

/// The job queue: enqueue, claim with `FOR UPDATE SKIP LOCKED`, complete, retry with backoff.
///
/// Time comes from the caller, so tests move the clock instead of sleeping.
public struct JobQueue: Sendable {
    public let db: Database

    public init(db: Database) {
        self.db = db
    }

    @discardableResult
    public static func enqueue(
        kind: String, payload: String = "{}", tenantID: UUID? = nil, runAt: Date, maxAttempts: Int = 5, in tx: PlatformTransaction
    ) async throws -> Int64 {
        let rows = try await tx.query(
            """
            INSERT INTO jobs (tenant_id, kind, payload, run_at, max_attempts, created_at)
            VALUES (\(tenantID), \(kind), \(payload)::jsonb, \(runAt), \(maxAttempts), \(runAt))
            RETURNING id
            """)
        for try await id in rows.decode(Int64.self) { return id }
        throw NoRowReturned()
    }

    /// Claims up to `limit` runnable jobs for `lease`; a worker that dies loses its claim when the lease ends.
    /// With `kinds`, only jobs of those kinds: a worker leaves what it cannot do (mail, without a relay) to one that can.
    public func claim(limit: Int, worker: String, lease: Duration, now: Date, kinds: [String]? = nil) async throws -> [Job] {
        let leaseEnd = now.addingTimeInterval(TimeInterval(lease.components.seconds))
        return try await db.withPlatform { tx in
            // A job whose last attempt died with its worker is failed, not retried forever.
            try await tx.query(
                """
                UPDATE jobs SET status = 'failed', finished_at = \(now), locked_until = NULL,
                    last_error = coalesce(last_error, 'the worker stopped during the last attempt')
                WHERE status = 'queued' AND attempts >= max_attempts AND locked_until < \(now)
                """)
            let rows = try await tx.query(
                """
                UPDATE jobs SET attempts = attempts + 1, locked_until = \(leaseEnd), locked_by = \(worker)
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE status = 'queued' AND run_at <= \(now) AND (locked_until IS NULL OR locked_until < \(now))
                      AND attempts < max_attempts AND (\(kinds)::text[] IS NULL OR kind = ANY(\(kinds)::text[]))
                    ORDER BY run_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id, tenant_id, kind, payload::text, attempts, max_attempts
                """)
            var jobs: [Job] = []
            for try await row in rows { jobs.append(try Job(row: row)) }
            return jobs
        }
    }

    /// Marks the job done, if this worker still holds it (a worker whose lease ran out lost the job to another).
    public func complete(_ job: Job, worker: String, now: Date) async throws {
        try await db.withPlatform { tx in
            try await tx.query(
                """
                UPDATE jobs SET status = 'done', finished_at = \(now), locked_until = NULL, last_error = NULL
                WHERE id = \(job.id) AND locked_by = \(worker) AND status = 'queued'
                """)
        }
    }

    /// Schedules a retry after an exponential backoff, or marks the job failed after its last attempt.
    public func fail(_ job: Job, worker: String, error: String, now: Date) async throws {
        let finalAttempt = job.attempts >= job.maxAttempts
        let retryAt = now.addingTimeInterval(Self.backoff(afterAttempt: job.attempts))
        try await db.withPlatform { tx in
            try await tx.query(
                """
                UPDATE jobs SET
                    status = CASE WHEN \(finalAttempt) THEN 'failed' ELSE 'queued' END,
                    run_at = CASE WHEN \(finalAttempt) THEN run_at ELSE \(retryAt) END,
                    finished_at = CASE WHEN \(finalAttempt) THEN \(now) END,
                    locked_until = NULL, last_error = \(String(error.prefix(2000)))
                WHERE id = \(job.id) AND locked_by = \(worker) AND status = 'queued'
                """)
        }
    }

    /// 2^attempt seconds, capped at one hour: 2 s, 4 s, 8 s, ...
    public static func backoff(afterAttempt attempt: Int) -> TimeInterval {
        min(3600, pow(2, Double(max(1, attempt))))
    }

    /// Jobs waiting to run now, for the queue-depth metric.
    public func depth(now: Date) async throws -> Int {
        try await db.withPlatform { tx in
            let rows = try await tx.query("SELECT count(*) FROM jobs WHERE status = 'queued' AND run_at <= \(now)")
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }
}
