import Foundation
import KringDatabase

/// The shape of the recurring per-library jobs: run in every active library, re-queue, report the failures.
enum RecurringJobs {
    struct Failures: Error, CustomStringConvertible {
        let what: String
        let slugs: [String]
        var description: String { "\(what) failed for \(slugs.joined(separator: ", "))" }
    }

    /// Runs `body` in each active library (one library's failure does not stop the others), queues the next run
    /// after `interval`, and throws when some library failed, so the job is retried.
    static func eachActiveLibrary(
        _ what: String, kind: String, interval: TimeInterval, db: Database, now: Date, _ body: (TenantTransaction) async throws -> Void
    ) async throws {
        try await eachActiveLibrary(what, kind: kind, next: now.addingTimeInterval(interval), db: db, body)
    }

    /// As above, with the next run at `next` (a nightly job's next night).
    static func eachActiveLibrary(
        _ what: String, kind: String, next: Date, db: Database, _ body: (TenantTransaction) async throws -> Void
    ) async throws {
        let tenants = try await db.withPlatform { tx in try await TenantDirectory.list(in: tx) }
        var failures: [String] = []
        for tenant in tenants where tenant.status == .active {
            do {
                try await db.withTenant(tenant) { tx in try await body(tx) }
            } catch {
                failures.append(tenant.slug.value)
            }
        }
        try await db.withPlatform { tx in try await queueOnce(kind, at: next, in: tx) }
        if !failures.isEmpty { throw Failures(what: what, slugs: failures) }
    }

    /// `hour`:00 in the Netherlands after `time`: when a nightly job runs next.
    static func nextNight(after time: Date, hour: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam")!
        return calendar.nextDate(after: time, matching: DateComponents(hour: hour, minute: 0), matchingPolicy: .nextTime)
            ?? time.addingTimeInterval(86_400)
    }

    /// Queues a run of `kind` unless one is waiting already (workers seed their recurring jobs at start).
    static func queueOnce(_ kind: String, at time: Date, in tx: PlatformTransaction) async throws {
        try await tx.query(
            """
            INSERT INTO jobs (kind, run_at, created_at)
            SELECT \(kind), \(time), \(time)
            WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = \(kind) AND status = 'queued' AND locked_until IS NULL)
            """)
    }
}
