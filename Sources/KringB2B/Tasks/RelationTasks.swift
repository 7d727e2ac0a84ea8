import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Tasks and reminders: create, change, delete, and the views per user (overdue, due this week).
public enum RelationTasks {
    public static func create(_ draft: TaskDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> RelationTask {
        try await checkLinks(organisationID: draft.organisationID, contactID: draft.contactID, interactionID: draft.interactionID, in: tx)
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO tasks (id, kind, title, notes, due_on, assignee_user_id, organisation_id, contact_id, interaction_id, status,
                               created_by_user_id, created_at, updated_at)
            VALUES (\(id), 'task', \(draft.title), \(draft.notes), \(draft.dueOn.sql)::date, \(draft.assigneeUserID), \(draft.organisationID),
                    \(draft.contactID), \(draft.interactionID), 'open', \(actor.userID), \(now), \(now))
            """)
        try await TenantAudit.record(
            "task.created", subjectType: "task", subjectID: id.lowercased, by: actor,
            details: ["assignee": draft.assigneeUserID?.lowercased ?? "", "due_on": draft.dueOn.sql], at: now, in: tx)
        return try await find(id: id, now: now, in: tx)
    }

    static func checkLinks(organisationID: UUID?, contactID: UUID?, interactionID: UUID?, in tx: TenantTransaction) async throws {
        if let organisationID { _ = try await Organisations.require(id: organisationID, as: "organisation_id", in: tx) }
        if let contactID { try await Contacts.require(id: contactID, as: "contact_id", in: tx) }
        if let interactionID {
            do {
                _ = try await Interactions.find(id: interactionID, in: tx)
            } catch RelationsError.notFound {
                throw RelationsError.invalid([FieldError(field: "interaction_id", message: "No such interaction in this library.")])
            }
        }
    }

    public static func change(id: UUID, _ change: TaskChange, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> RelationTask
    {
        _ = try await find(id: id, now: now, in: tx)
        var v = Validator()
        let title = change.title == nil ? nil : v.required(change.title, "title")
        let notes = v.text(change.notes, "notes", max: 4000)
        let due = v.date(change.dueOn, "due_on")
        let status: RelationTask.Status? = change.status == nil ? nil : v.choice(change.status, "status")
        try v.check()
        try await tx.query(
            """
            UPDATE tasks SET title = coalesce(\(title), title), notes = coalesce(\(notes), notes),
                due_on = coalesce(\(due?.sql)::date, due_on),
                -- A task moved to a later day may fall due again, and is then reminded of again.
                overdue_marked_at = CASE WHEN \(due?.sql)::date IS NOT NULL AND \(due?.sql)::date <> due_on THEN NULL ELSE overdue_marked_at END,
                assignee_user_id = coalesce(\(change.assigneeUserID), assignee_user_id),
                status = coalesce(\(status?.rawValue), status),
                completed_at = CASE WHEN \(status?.rawValue) = 'done' THEN \(now) WHEN \(status?.rawValue)::text IS NOT NULL THEN NULL ELSE completed_at END,
                updated_at = \(now)
            WHERE id = \(id)
            """)
        var details: [String: String] = [:]
        if let status { details["status"] = status.rawValue }
        if let due { details["due_on"] = due.sql }
        if let assignee = change.assigneeUserID { details["assignee"] = assignee.lowercased }
        try await TenantAudit.record("task.updated", subjectType: "task", subjectID: id.lowercased, by: actor, details: details, at: now, in: tx)
        return try await find(id: id, now: now, in: tx)
    }

    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await find(id: id, now: now, in: tx)
        try await tx.query("DELETE FROM tasks WHERE id = \(id)")
        try await TenantAudit.record("task.deleted", subjectType: "task", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    /// How many of a person's open tasks the reminder job has found overdue: the badge in the web app's navigation.
    public static func dueReminders(assigneeUserID: UUID, in tx: TenantTransaction) async throws -> Int {
        let rows = try await tx.query(
            """
            SELECT count(*)::int FROM tasks
            WHERE assignee_user_id = \(assigneeUserID) AND status = 'open' AND overdue_marked_at IS NOT NULL
            """)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public static func find(id: UUID, now: Date, in tx: TenantTransaction) async throws -> RelationTask {
        let rows = try await tx.query("SELECT \(unescaped: RelationTask.columns) FROM tasks t WHERE t.id = \(id)")
        for try await row in rows { return try RelationTask(row: row, today: CalendarDate(now)) }
        throw RelationsError.notFound(.task)
    }

    /// Which open tasks by due date: past due, or due from today to the end of this week (Sunday).
    public enum Due: String, Sendable, CaseIterable { case overdue, week }

    public struct Filter: Sendable {
        public var assigneeUserID: UUID?
        public var due: Due?
        /// nil: every status.
        public var status: RelationTask.Status?
        public var organisationID: UUID?
        /// Keyset: after this (due_on, id).
        public var after: (CalendarDate, UUID)?
        public var limit: Int

        public init(
            assigneeUserID: UUID? = nil, due: Due? = nil, status: RelationTask.Status? = .open, organisationID: UUID? = nil,
            after: (CalendarDate, UUID)? = nil, limit: Int = 50
        ) {
            self.assigneeUserID = assigneeUserID
            self.due = due
            self.status = status
            self.organisationID = organisationID
            self.after = after
            self.limit = limit
        }
    }

    /// In due order; "today" and "this week" are days in the Netherlands on `now`.
    public static func list(_ filter: Filter, now: Date, in tx: TenantTransaction) async throws -> [RelationTask] {
        let today = CalendarDate(now)
        // A due filter is about open tasks, whatever status was asked for.
        let status = filter.due == nil ? filter.status?.rawValue : RelationTask.Status.open.rawValue
        let rows = try await tx.query(
            """
            SELECT \(unescaped: RelationTask.columns) FROM tasks t
            WHERE (\(status)::text IS NULL OR t.status = \(status))
              AND (\(filter.assigneeUserID)::uuid IS NULL OR t.assignee_user_id = \(filter.assigneeUserID))
              AND (\(filter.organisationID)::uuid IS NULL OR t.organisation_id = \(filter.organisationID))
              AND (\(filter.due?.rawValue)::text IS NULL
                   OR (\(filter.due?.rawValue) = 'overdue' AND t.due_on < \(today.sql)::date)
                   OR (\(filter.due?.rawValue) = 'week' AND t.due_on BETWEEN \(today.sql)::date
                       AND \(today.sql)::date + (7 - extract(isodow FROM \(today.sql)::date)::int)))
              AND (\(filter.after?.0.sql)::date IS NULL OR (t.due_on, t.id) > (\(filter.after?.0.sql)::date, \(filter.after?.1)))
            ORDER BY t.due_on, t.id
            LIMIT \(filter.limit)
            """)
        var tasks: [RelationTask] = []
        for try await row in rows { tasks.append(try RelationTask(row: row, today: today)) }
        return tasks
    }
}
