import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Told when a task falls overdue. `kring worker` uses `AuditTrailReminderNotifier`, which writes the reminder to
/// the library's audit log and mails no one; a notifier that e-mails the assignee would conform to this protocol.
public protocol TaskReminderNotifier: Sendable {
    /// Runs in the transaction that marks the task, so a failing notification leaves it unmarked for the next run.
    func taskBecameOverdue(_ task: RelationTask, now: Date, in tx: TenantTransaction) async throws
}

/// The default notifier: an audit entry per reminder, so staff can see that and when it was given.
public struct AuditTrailReminderNotifier: TaskReminderNotifier {
    public init() {}

    public func taskBecameOverdue(_ task: RelationTask, now: Date, in tx: TenantTransaction) async throws {
        try await TenantAudit.record(
            "task.reminder", subjectType: "task", subjectID: task.id.lowercased, by: .system,
            details: ["assignee": task.assigneeUserID?.lowercased ?? "", "due_on": task.dueOn.sql, "channel": "audit"],
            at: now, in: tx)
    }
}

/// The reminder job's work in one library: mark open tasks whose due day has passed, once, and notify.
public enum TaskReminders {
    /// Marks and notifies; answers the tasks it marked. Running it again marks nothing new.
    @discardableResult
    public static func run(notifier: any TaskReminderNotifier, now: Date, in tx: TenantTransaction) async throws -> [RelationTask] {
        let today = CalendarDate(now)
        let rows = try await tx.query(
            """
            UPDATE tasks t SET overdue_marked_at = \(now)
            WHERE t.status = 'open' AND t.due_on < \(today.sql)::date AND t.overdue_marked_at IS NULL
            RETURNING \(unescaped: RelationTask.columns)
            """)
        var marked: [RelationTask] = []
        for try await row in rows { marked.append(try RelationTask(row: row, today: today)) }
        for task in marked.sorted(by: { ($0.dueOn, $0.id.uuidString) < ($1.dueOn, $1.id.uuidString) }) {
            try await notifier.taskBecameOverdue(task, now: now, in: tx)
        }
        return marked
    }
}
