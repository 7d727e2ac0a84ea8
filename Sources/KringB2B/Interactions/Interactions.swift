import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The contact history of organisations.
public enum Interactions {
    /// Logs an interaction, with its follow-up task when the draft has one (assigned to the author unless it names someone).
    public static func create(_ draft: InteractionDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Interaction
    {
        _ = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        for (index, contact) in draft.contactIDs.enumerated() { try await Contacts.require(id: contact, as: "contact_ids[\(index)]", in: tx) }
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO interactions (id, organisation_id, kind, occurred_at, subject, report, follow_up, staff_user_ids, created_by_user_id, created_at, updated_at)
            VALUES (\(id), \(draft.organisationID), \(draft.kind.rawValue), \(draft.occurredAt), \(draft.subject), \(draft.report), \(draft.followUp),
                    \(draft.staffUserIDs), \(actor.userID), \(now), \(now))
            """)
        try await setContacts(draft.contactIDs, interactionID: id, in: tx)
        try await TenantAudit.record(
            "interaction.created", subjectType: "interaction", subjectID: id.lowercased, by: actor,
            details: ["organisation": draft.organisationID.lowercased, "kind": draft.kind.rawValue], at: now, in: tx)
        if var task = draft.followUpTask {
            task.organisationID = task.organisationID ?? draft.organisationID
            task.interactionID = id
            task.assigneeUserID = task.assigneeUserID ?? actor.userID
            _ = try await RelationTasks.create(task, by: actor, now: now, in: tx)
        }
        return try await find(id: id, in: tx)
    }

    /// Replaces an interaction's fields and participants; its follow-up tasks stay.
    public static func replace(
        id: UUID, with draft: InteractionDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Interaction {
        _ = try await find(id: id, in: tx)
        _ = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        for (index, contact) in draft.contactIDs.enumerated() { try await Contacts.require(id: contact, as: "contact_ids[\(index)]", in: tx) }
        try await tx.query(
            """
            UPDATE interactions SET organisation_id = \(draft.organisationID), kind = \(draft.kind.rawValue), occurred_at = \(draft.occurredAt),
                subject = \(draft.subject), report = \(draft.report), follow_up = \(draft.followUp), staff_user_ids = \(draft.staffUserIDs), updated_at = \(now)
            WHERE id = \(id)
            """)
        try await tx.query("DELETE FROM interaction_contacts WHERE interaction_id = \(id)")
        try await setContacts(draft.contactIDs, interactionID: id, in: tx)
        try await TenantAudit.record("interaction.updated", subjectType: "interaction", subjectID: id.lowercased, by: actor, at: now, in: tx)
        return try await find(id: id, in: tx)
    }

    private static func setContacts(_ contactIDs: [UUID], interactionID: UUID, in tx: TenantTransaction) async throws {
        guard !contactIDs.isEmpty else { return }
        try await tx.query(
            """
            INSERT INTO interaction_contacts (interaction_id, contact_id) SELECT \(interactionID), unnest(\(contactIDs)::uuid[])
            ON CONFLICT DO NOTHING
            """)
    }

    /// Deletes an interaction; its follow-up tasks stay, without the link.
    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await find(id: id, in: tx)
        try await tx.query("UPDATE tasks SET interaction_id = NULL, updated_at = \(now) WHERE interaction_id = \(id)")
        try await tx.query("DELETE FROM interaction_contacts WHERE interaction_id = \(id)")
        try await tx.query("DELETE FROM interactions WHERE id = \(id)")
        try await TenantAudit.record("interaction.deleted", subjectType: "interaction", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    public static func find(id: UUID, in tx: TenantTransaction) async throws -> Interaction {
        let rows = try await tx.query("SELECT \(unescaped: Interaction.columns) FROM interactions i WHERE i.id = \(id)")
        for try await row in rows { return try Interaction(row: row) }
        throw RelationsError.notFound(.interaction)
    }

    /// Reads one interaction; its report may name people, so the read is audited.
    public static func read(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Interaction {
        let interaction = try await find(id: id, in: tx)
        try await TenantAudit.record("interaction.read", subjectType: "interaction", subjectID: id.lowercased, by: actor, at: now, in: tx)
        return interaction
    }

    public struct Filter: Sendable {
        public var organisationID: UUID?
        public var contactID: UUID?
        public var kind: Interaction.Kind?
        /// Matches part of the subject.
        public var query: String?
        /// Keyset: entries older than this (occurred_at, id).
        public var before: (Date, UUID)?
        public var limit: Int

        public init(
            organisationID: UUID? = nil, contactID: UUID? = nil, kind: Interaction.Kind? = nil, query: String? = nil,
            before: (Date, UUID)? = nil, limit: Int = 50
        ) {
            self.organisationID = organisationID
            self.contactID = contactID
            self.kind = kind
            self.query = query
            self.before = before
            self.limit = limit
        }
    }

    /// Newest first, keyset-paginated on (occurred_at, id).
    public static func list(_ filter: Filter, in tx: TenantTransaction) async throws -> [Interaction] {
        let pattern = filter.query.flatMap { $0.trimmed().isEmpty ? nil : likePattern($0.trimmed().lowercased()) }
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Interaction.columns) FROM interactions i
            WHERE (\(filter.organisationID)::uuid IS NULL OR i.organisation_id = \(filter.organisationID))
              AND (\(filter.contactID)::uuid IS NULL OR EXISTS (SELECT 1 FROM interaction_contacts ic WHERE ic.interaction_id = i.id AND ic.contact_id = \(filter.contactID)))
              AND (\(filter.kind?.rawValue)::text IS NULL OR i.kind = \(filter.kind?.rawValue))
              AND (\(pattern)::text IS NULL OR lower(i.subject) LIKE \(pattern))
              AND (\(filter.before?.0)::timestamptz IS NULL OR (i.occurred_at, i.id) < (\(filter.before?.0), \(filter.before?.1)))
            ORDER BY i.occurred_at DESC, i.id DESC
            LIMIT \(filter.limit)
            """)
        var interactions: [Interaction] = []
        for try await row in rows { interactions.append(try Interaction(row: row)) }
        return interactions
    }
}
