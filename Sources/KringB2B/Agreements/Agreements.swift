import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Agreements with municipalities and partners. Each one with a renewal date has one renewal task, kept in step.
public enum Agreements {
    /// Days before the renewal date that the renewal task falls due: time to evaluate and negotiate.
    public static let renewalLeadDays = 30

    public static func create(_ draft: AgreementDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Agreement {
        let organisation = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO agreements (id, organisation_id, kind, title, period_start, period_end, amount_cents, deliverables, renewal_date, status,
                                    created_at, updated_at)
            VALUES (\(id), \(draft.organisationID), \(draft.kind.rawValue), \(draft.title), \(draft.periodStart.sql)::date, \(draft.periodEnd?.sql)::date,
                    \(draft.amountCents), \(draft.deliverables), \(draft.renewalDate?.sql)::date, \(draft.status.rawValue), \(now), \(now))
            """)
        try await TenantAudit.record(
            "agreement.created", subjectType: "agreement", subjectID: id.lowercased, by: actor,
            details: ["organisation": draft.organisationID.lowercased], at: now, in: tx)
        try await syncRenewalTask(agreementID: id, draft: draft, accountOwner: organisation.accountOwnerUserID, by: actor, now: now, in: tx)
        return try await find(id: id, in: tx)
    }

    public static func replace(
        id: UUID, with draft: AgreementDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Agreement {
        _ = try await find(id: id, in: tx)
        let organisation = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        try await tx.query(
            """
            UPDATE agreements SET organisation_id = \(draft.organisationID), kind = \(draft.kind.rawValue), title = \(draft.title),
                period_start = \(draft.periodStart.sql)::date, period_end = \(draft.periodEnd?.sql)::date, amount_cents = \(draft.amountCents),
                deliverables = \(draft.deliverables), renewal_date = \(draft.renewalDate?.sql)::date, status = \(draft.status.rawValue), updated_at = \(now)
            WHERE id = \(id)
            """)
        try await TenantAudit.record("agreement.updated", subjectType: "agreement", subjectID: id.lowercased, by: actor, at: now, in: tx)
        try await syncRenewalTask(agreementID: id, draft: draft, accountOwner: organisation.accountOwnerUserID, by: actor, now: now, in: tx)
        return try await find(id: id, in: tx)
    }

    /// Creates or moves the renewal task: due `renewalLeadDays` before the renewal date, for the account owner (else the
    /// author). A new renewal date reopens a finished task; no renewal date, or an ended agreement, cancels an open one.
    static func syncRenewalTask(
        agreementID: UUID, draft: AgreementDraft.Valid, accountOwner: UUID?, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws {
        guard let renewal = draft.renewalDate, draft.status != .ended else {
            try await tx.query(
                """
                UPDATE tasks SET status = 'cancelled', updated_at = \(now)
                WHERE agreement_id = \(agreementID) AND kind = 'renewal' AND status = 'open'
                """)
            return
        }
        let title = "Verlenging voorbereiden: \(draft.title)"
        let rows = try await tx.query(
            """
            INSERT INTO tasks AS t (id, kind, title, notes, due_on, assignee_user_id, organisation_id, agreement_id, status, created_by_user_id,
                                    created_at, updated_at)
            VALUES (\(UUID()), 'renewal', \(String(title.prefix(200))), \("Verlengingsdatum \(renewal.sql)"),
                    \(renewal.sql)::date - \(renewalLeadDays)::int, \(accountOwner ?? actor.userID), \(draft.organisationID), \(agreementID), 'open',
                    \(actor.userID), \(now), \(now))
            ON CONFLICT (agreement_id) WHERE kind = 'renewal' DO UPDATE SET
                title = EXCLUDED.title, notes = EXCLUDED.notes, organisation_id = EXCLUDED.organisation_id,
                assignee_user_id = coalesce(t.assignee_user_id, EXCLUDED.assignee_user_id),
                status = CASE WHEN t.due_on <> EXCLUDED.due_on OR t.status = 'cancelled' THEN 'open' ELSE t.status END,
                overdue_marked_at = CASE WHEN t.due_on <> EXCLUDED.due_on THEN NULL ELSE t.overdue_marked_at END,
                completed_at = CASE WHEN t.due_on <> EXCLUDED.due_on THEN NULL ELSE t.completed_at END,
                due_on = EXCLUDED.due_on, updated_at = EXCLUDED.updated_at
            RETURNING t.id, (xmax = 0)
            """)
        for try await (taskID, inserted) in rows.decode((UUID, Bool).self) {
            try await TenantAudit.record(
                inserted ? "task.created" : "task.updated", subjectType: "task", subjectID: taskID.lowercased, by: actor,
                details: ["agreement": agreementID.lowercased, "renewal_date": renewal.sql], at: now, in: tx)
        }
    }

    /// Deletes an agreement with its renewal task.
    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await find(id: id, in: tx)
        try await tx.query("DELETE FROM tasks WHERE agreement_id = \(id)")
        try await tx.query("DELETE FROM agreements WHERE id = \(id)")
        try await TenantAudit.record("agreement.deleted", subjectType: "agreement", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    public static func find(id: UUID, in tx: TenantTransaction) async throws -> Agreement {
        let rows = try await tx.query("SELECT \(unescaped: Agreement.columns) FROM agreements a WHERE a.id = \(id)")
        for try await row in rows { return try Agreement(row: row) }
        throw RelationsError.notFound(.agreement)
    }

    public struct Filter: Sendable {
        public var organisationID: UUID?
        public var kind: Agreement.Kind?
        public var status: Agreement.Status?
        /// Agreements to renew on or before this day.
        public var renewalBefore: CalendarDate?
        /// Matches part of the title.
        public var query: String?
        public var before: (CalendarDate, UUID)?
        public var limit: Int

        public init(
            organisationID: UUID? = nil, kind: Agreement.Kind? = nil, status: Agreement.Status? = nil, renewalBefore: CalendarDate? = nil,
            query: String? = nil, before: (CalendarDate, UUID)? = nil, limit: Int = 50
        ) {
            self.organisationID = organisationID
            self.kind = kind
            self.status = status
            self.renewalBefore = renewalBefore
            self.query = query
            self.before = before
            self.limit = limit
        }
    }

    /// Newest period first; keyset on (period_start, id).
    public static func list(_ filter: Filter, in tx: TenantTransaction) async throws -> [Agreement] {
        let pattern = filter.query.flatMap { $0.trimmed().isEmpty ? nil : likePattern($0.trimmed().lowercased()) }
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Agreement.columns) FROM agreements a
            WHERE (\(filter.organisationID)::uuid IS NULL OR a.organisation_id = \(filter.organisationID))
              AND (\(filter.kind?.rawValue)::text IS NULL OR a.kind = \(filter.kind?.rawValue))
              AND (\(filter.status?.rawValue)::text IS NULL OR a.status = \(filter.status?.rawValue))
              AND (\(filter.renewalBefore?.sql)::date IS NULL OR a.renewal_date <= \(filter.renewalBefore?.sql)::date)
              AND (\(pattern)::text IS NULL OR lower(a.title) LIKE \(pattern))
              AND (\(filter.before?.0.sql)::date IS NULL OR (a.period_start, a.id) < (\(filter.before?.0.sql)::date, \(filter.before?.1)))
            ORDER BY a.period_start DESC, a.id DESC
            LIMIT \(filter.limit)
            """)
        var agreements: [Agreement] = []
        for try await row in rows { agreements.append(try Agreement(row: row)) }
        return agreements
    }
}
