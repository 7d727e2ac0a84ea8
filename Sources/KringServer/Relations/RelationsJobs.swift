import Foundation
import KringB2B
import KringB2C
import KringCore
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

extension RelationsJobs {
    /// The import worker's runners for lists of organisations and contacts uploaded in the web app: the same
    /// `RelationImport` as the API's, reporting its rows as the member import does.
    public static func importRunners(db: Database, now: @escaping @Sendable () -> Date) -> [Imports.Kind: Imports.Runner] {
        func runner(_ kind: RelationImport.Kind) -> Imports.Runner {
            { run, tenant, file, mappingJSON, progress in
                let mapping: RelationImportMapping?
                do {
                    mapping = try mappingJSON.map { try JSONDecoder().decode(RelationImportMapping.self, from: Data($0.utf8)) }
                } catch {
                    throw ImportError.unreadable("Not a valid \(kind.rawValue) column mapping (see Deploy/mappings/\(kind.rawValue)-default.json).")
                }
                let staff = try await AppServices.staffByEmail(tenant, db: db)
                let report: RelationImportReport
                do {
                    report = try await RelationImport(kind: kind, mapping: mapping, dryRun: run.dryRun).run(
                        file, staff: staff, by: AuditActor(userID: nil, apiKeyID: nil), now: now(), db: db, tenant: tenant,
                        progress: progress)
                } catch RelationsError.unreadableFile(let reason) {
                    throw ImportError.unreadable(reason)
                }
                var converted = ImportReport(dryRun: report.dryRun)
                converted.encoding = report.encoding
                converted.separator = report.separator
                converted.rows = report.rows
                converted.inserted = report.inserted
                converted.updated = report.updated
                converted.unchanged = report.unchanged
                converted.rejected = report.rejected
                converted.errors = report.errors.map { ImportReport.RowError(line: $0.line, column: $0.column, reason: $0.reason) }
                return converted
            }
        }
        return [.organisations: runner(.organisations), .contacts: runner(.contacts)]
    }
}
