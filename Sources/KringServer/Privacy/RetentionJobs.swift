import Foundation
import KringB2C
import KringCore
import KringDatabase

/// The nightly retention run: every active library's terms applied (`Retention`), the counts in its audit log. Workers
/// seed a run for the coming night at start; each run queues the next for 03:00 in the Netherlands.
public enum RetentionJobs {
    public static let retention = "privacy.retention"

    public static func handlers(db: Database, now: @escaping @Sendable () -> Date) -> [String: JobHandler] {
        [
            retention: { _ in
                let time = now()
                try await RecurringJobs.eachActiveLibrary("retention", kind: retention, next: nextNight(after: time), db: db) { tx in
                    _ = try await Retention.apply(now: time, in: tx)
                }
            }
        ]
    }

    /// Queues the coming night's run unless one is waiting.
    public static func schedule(after time: Date, in tx: PlatformTransaction) async throws {
        try await RecurringJobs.queueOnce(retention, at: nextNight(after: time), in: tx)
    }

    /// 03:00 in the Netherlands after `time`.
    static func nextNight(after time: Date) -> Date { RecurringJobs.nextNight(after: time, hour: 3) }
}
