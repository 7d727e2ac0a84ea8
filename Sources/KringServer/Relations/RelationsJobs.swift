import Foundation
import KringB2B
import KringDatabase

/// The job kinds of the B2B module, for `kring worker` (and tests).
public enum RelationsJobs {
    /// Marks tasks that fell overdue in every active library and notifies their assignees; re-schedules itself.
    public static let taskReminders = "b2b.task_reminders"

    public static let reminderInterval: TimeInterval = 3600

    public static func handlers(
        db: Database, notifier: any TaskReminderNotifier = AuditTrailReminderNotifier(), now: @escaping @Sendable () -> Date
    ) -> [String: JobHandler] {
        [taskReminders: { _ in
            let time = now()
            let tenants = try await db.withPlatform { tx in try await TenantDirectory.list(in: tx) }
            var failures: [String] = []
            for tenant in tenants where tenant.status == .active {
                do {
                    try await db.withTenant(tenant) { tx in try await TaskReminders.run(notifier: notifier, now: time, in: tx) }
                } catch {
                    // One library's failure must not stop the reminders of the others; the job retries.
                    failures.append(tenant.slug.value)
                }
            }
            try await db.withPlatform { tx in try await scheduleReminders(at: time.addingTimeInterval(reminderInterval), in: tx) }
            if !failures.isEmpty { throw ReminderFailures(slugs: failures) }
        }]
    }

    struct ReminderFailures: Error, CustomStringConvertible {
        let slugs: [String]
        var description: String { "task reminders failed for \(slugs.joined(separator: ", "))" }
    }

    /// Queues the next run unless one is waiting already (workers seed it at start, like the prune job).
    public static func scheduleReminders(at time: Date, in tx: PlatformTransaction) async throws {
        try await tx.query("""
            INSERT INTO jobs (kind, run_at, created_at)
            SELECT \(taskReminders), \(time), \(time)
            WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = \(taskReminders) AND status = 'queued' AND locked_until IS NULL)
            """)
    }
}
