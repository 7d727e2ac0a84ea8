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
        [
            taskReminders: { _ in
                let time = now()
                try await RecurringJobs.eachActiveLibrary("task reminders", kind: taskReminders, interval: reminderInterval, db: db, now: time) {
                    tx in
                    try await TaskReminders.run(notifier: notifier, now: time, in: tx)
                }
            }
        ]
    }

    /// Queues the next run unless one is waiting already (workers seed it at start, like the prune job).
    public static func scheduleReminders(at time: Date, in tx: PlatformTransaction) async throws {
        try await RecurringJobs.queueOnce(taskReminders, at: time, in: tx)
    }
}
