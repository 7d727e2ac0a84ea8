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
                let tenants = try await db.withPlatform { tx in try await TenantDirectory.list(in: tx) }.filter { $0.status == .active }
                var failed: [String] = []
                for tenant in tenants {
                    do {
                        _ = try await db.withTenant(tenant) { tx in try await Retention.apply(now: time, in: tx) }
                    } catch {
                        failed.append(tenant.slug.value)
                    }
                }
                try await db.withPlatform { tx in try await RecurringJobs.queueOnce(retention, at: nextNight(after: time), in: tx) }
                if !failed.isEmpty { throw RecurringJobs.Failures(what: "retention", slugs: failed) }
            }
        ]
    }

    /// Queues the coming night's run unless one is waiting.
    public static func schedule(after time: Date, in tx: PlatformTransaction) async throws {
        try await RecurringJobs.queueOnce(retention, at: nextNight(after: time), in: tx)
    }

    /// 03:00 in the Netherlands after `time`.
    static func nextNight(after time: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam")!
        return calendar.nextDate(after: time, matching: DateComponents(hour: 3, minute: 0), matchingPolicy: .nextTime)
            ?? time.addingTimeInterval(86_400)
    }
}
