import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// People at organisations and their roles. Every read of one person and every change is written to the
/// tenant's audit log in the same transaction, as for customers.
public enum Contacts {
    public static func create(_ draft: ContactDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> ContactDetail {
        let id = UUID()
        do {
            try await tx.query(
                """
                INSERT INTO contacts (id, first_name, infix, last_name, email, phone, notes, created_at, updated_at)
                VALUES (\(id), \(draft.firstName), \(draft.infix), \(draft.lastName), \(draft.email), \(draft.phone), \(draft.notes), \(now), \(now))
                """)
        } catch let error as PSQLError {
            throw map(error)
        }
        try await TenantAudit.record("contact.created", subjectType: "contact", subjectID: id.lowercased, by: actor, at: now, in: tx)
        for (index, role) in draft.roles.enumerated() {
            _ = try await addRole(role, contactID: id, field: "roles[\(index)].organisation_id", by: actor, now: now, in: tx)
        }
        return try await detail(id: id, in: tx)
    }

    public static func replace(
        id: UUID, with draft: ContactDraft.Valid, expectedVersion: Int?, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Contact {
        let current = try await require(id: id, forUpdate: true, in: tx)
        if let expectedVersion, current.version != expectedVersion { throw RelationsError.versionMismatch(current: current.version) }
        let updated: Contact
        do {
            let rows = try await tx.query(
                """
                UPDATE contacts c SET version = version + 1, first_name = \(draft.firstName), infix = \(draft.infix), last_name = \(draft.lastName),
                    email = \(draft.email), phone = \(draft.phone), notes = \(draft.notes), updated_at = \(now)
                WHERE id = \(id)
                RETURNING \(unescaped: Contact.columns)
                """)
            guard let row = try await rows.first() else { throw NoRowReturned() }
            updated = try Contact(row: row)
        } catch let error as PSQLError {
            throw map(error)
        }
        var fields: [String] = []
        if current.firstName != updated.firstName { fields.append("first_name") }
        if current.infix != updated.infix { fields.append("infix") }
        if current.lastName != updated.lastName { fields.append("last_name") }
        if current.email != updated.email { fields.append("email") }
        if current.phone != updated.phone { fields.append("phone") }
        if current.notes != updated.notes { fields.append("notes") }
        try await TenantAudit.record(
            "contact.updated", subjectType: "contact", subjectID: id.lowercased, by: actor,
            details: ["fields": fields.joined(separator: " ")], at: now, in: tx)
        return updated
    }

    /// Removes a person with their roles, consent statements, participation in interactions and the mails sent to
    /// them (with what happened to those mails: a campaign's report then counts them no more). Interactions and tasks
    /// stay; a task that named the person names nobody.
    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await require(id: id, forUpdate: true, in: tx)
        try await tx.query("DELETE FROM campaign_events WHERE contact_id = \(id)")
        try await tx.query("DELETE FROM sends WHERE contact_id = \(id)")
        try await tx.query("UPDATE tasks SET contact_id = NULL, updated_at = \(now) WHERE contact_id = \(id)")
        try await tx.query("DELETE FROM interaction_contacts WHERE contact_id = \(id)")
        try await tx.query("DELETE FROM contact_consents WHERE contact_id = \(id)")
        try await tx.query("DELETE FROM contact_roles WHERE contact_id = \(id)")
        try await tx.query("DELETE FROM contacts WHERE id = \(id)")
        try await TenantAudit.record("contact.deleted", subjectType: "contact", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    /// One person with all their roles and current consents, audited as a read of personal data.
    public static func read(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> ContactDetail {
        let detail = try await detail(id: id, in: tx)
        try await TenantAudit.record("contact.read", subjectType: "contact", subjectID: id.lowercased, by: actor, at: now, in: tx)
        return detail
    }

    static func detail(id: UUID, in tx: TenantTransaction) async throws -> ContactDetail {
        let contact = try await require(id: id, forUpdate: false, in: tx)
        return ContactDetail(
            contact: contact, roles: try await roles(contactID: id, in: tx),
            consents: try await ContactConsents.current(contactID: id, in: tx))
    }

    /// Every role the person held, newest first.
    public static func roles(contactID: UUID, in tx: TenantTransaction) async throws -> [ContactRole] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: ContactRole.columns) FROM contact_roles r JOIN organisations o ON o.id = r.organisation_id
            WHERE r.contact_id = \(contactID) ORDER BY r.active_from DESC, r.created_at DESC, r.id
            """)
        var roles: [ContactRole] = []
        for try await row in rows { roles.append(try ContactRole(row: row)) }
        return roles
    }

    static func require(id: UUID, forUpdate: Bool, in tx: TenantTransaction) async throws -> Contact {
        let rows = try await tx.query(
            "SELECT \(unescaped: Contact.columns) FROM contacts c WHERE c.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")")
        for try await row in rows { return try Contact(row: row) }
        throw RelationsError.notFound(.contact)
    }

    /// A contact named in a body: unknown is a field error.
    static func require(id: UUID, as field: String, in tx: TenantTransaction) async throws {
        do {
            _ = try await require(id: id, forUpdate: false, in: tx)
        } catch RelationsError.notFound {
            throw RelationsError.invalid([FieldError(field: field, message: "No such contact in this library.")])
        }
    }

    /// Gives the person a role at an organisation; earlier roles stay as history.
    public static func addRole(
        _ draft: ContactRoleDraft.Valid, contactID: UUID, field: String = "organisation_id", by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> ContactRole {
        _ = try await require(id: contactID, forUpdate: false, in: tx)
        _ = try await Organisations.require(id: draft.organisationID, as: field, in: tx)
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO contact_roles (id, contact_id, organisation_id, dmu_role, job_title, active_from, active_to, created_at, updated_at)
            VALUES (\(id), \(contactID), \(draft.organisationID), \(draft.dmuRole.rawValue), \(draft.jobTitle), \(draft.activeFrom.sql)::date,
                    \(draft.activeTo?.sql)::date, \(now), \(now))
            """)
        try await TenantAudit.record(
            "contact_role.created", subjectType: "contact", subjectID: contactID.lowercased, by: actor,
            details: ["role": id.lowercased, "organisation": draft.organisationID.lowercased, "dmu_role": draft.dmuRole.rawValue],
            at: now, in: tx)
        return try await role(id: id, contactID: contactID, in: tx)
    }

    /// Ends a role or corrects it. A role that ended is history: its DMU role and title no longer change.
    public static func changeRole(
        id: UUID, contactID: UUID, _ change: ContactRoleChange, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> ContactRole {
        let current = try await role(id: id, contactID: contactID, in: tx)
        var v = Validator()
        let dmuRole: DMURole? = change.dmuRole == nil ? nil : v.choice(change.dmuRole, "dmu_role")
        let title = v.text(change.jobTitle, "job_title", max: 150)
        let activeTo = v.date(change.activeTo, "active_to")
        v.period(current.activeFrom, activeTo, endField: "active_to", startField: "active_from")
        if current.activeTo != nil && (dmuRole != nil || title != nil) {
            v.fail("dmu_role", "This role has ended; give the person a new role instead.")
        }
        try v.check()
        try await tx.query(
            """
            UPDATE contact_roles SET dmu_role = coalesce(\(dmuRole?.rawValue), dmu_role), job_title = coalesce(\(title), job_title),
                active_to = coalesce(\(activeTo?.sql)::date, active_to), updated_at = \(now)
            WHERE id = \(id)
            """)
        var details = ["role": id.lowercased]
        if let activeTo { details["active_to"] = activeTo.sql }
        if let dmuRole { details["dmu_role"] = dmuRole.rawValue }
        try await TenantAudit.record(
            "contact_role.updated", subjectType: "contact", subjectID: contactID.lowercased, by: actor,
            details: details, at: now, in: tx)
        return try await role(id: id, contactID: contactID, in: tx)
    }

    /// A person moves: the role `roleID` ends the day before the new one starts at another organisation. Both stay,
    /// with their dates, so the old organisation's history keeps them. Call in one transaction.
    public static func move(
        contactID: UUID, roleID: UUID, to draft: ContactRoleDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> (ended: ContactRole, started: ContactRole) {
        _ = try await require(id: contactID, forUpdate: true, in: tx)
        let old = try await role(id: roleID, contactID: contactID, in: tx)
        var v = Validator()
        if old.activeTo != nil { v.fail("role", "This role has already ended.") }
        if old.organisationID == draft.organisationID { v.fail("organisation_id", "The person is already at this organisation.") }
        let lastDay = draft.activeFrom.adding(days: -1)
        if lastDay < old.activeFrom { v.fail("active_from", "The old role started on \(old.activeFrom.sql); the move must come after it.") }
        try v.check()
        let ended = try await changeRole(id: roleID, contactID: contactID, ContactRoleChange(activeTo: lastDay.sql), by: actor, now: now, in: tx)
        let started = try await addRole(draft, contactID: contactID, by: actor, now: now, in: tx)
        return (ended, started)
    }

    static func role(id: UUID, contactID: UUID, in tx: TenantTransaction) async throws -> ContactRole {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: ContactRole.columns) FROM contact_roles r JOIN organisations o ON o.id = r.organisation_id
            WHERE r.id = \(id) AND r.contact_id = \(contactID)
            """)
        for try await row in rows { return try ContactRole(row: row) }
        throw RelationsError.notFound(.contactRole)
    }

    public struct Search: Sendable {
        /// Matches the start of a last name or an e-mail address.
        public var query: String?
        /// People with a role at this organisation that is active on `day`.
        public var organisationID: UUID?
        public var dmuRole: DMURole?
        public var after: UUID?
        public var limit: Int

        public init(query: String? = nil, organisationID: UUID? = nil, dmuRole: DMURole? = nil, after: UUID? = nil, limit: Int = 50) {
            self.query = query
            self.organisationID = organisationID
            self.dmuRole = dmuRole
            self.after = after
            self.limit = limit
        }
    }

    /// Searches in keyset order of id. Audited once per search, with the hit count.
    public static func search(_ search: Search, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> [Contact] {
        let needle = search.query?.trimmed().lowercased()
        let pattern = needle.flatMap { $0.isEmpty ? nil : likePattern($0, prefix: true) }
        let today = CalendarDate(now).sql
        let roleFilter = search.organisationID != nil || search.dmuRole != nil
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Contact.columns) FROM contacts c
            WHERE (\(pattern)::text IS NULL OR lower(c.last_name) LIKE \(pattern) OR c.email = \(needle))
              AND (NOT \(roleFilter) OR EXISTS (
                    SELECT 1 FROM contact_roles r
                    WHERE r.contact_id = c.id AND r.active_from <= \(today)::date AND (r.active_to IS NULL OR r.active_to >= \(today)::date)
                      AND (\(search.organisationID)::uuid IS NULL OR r.organisation_id = \(search.organisationID))
                      AND (\(search.dmuRole?.rawValue)::text IS NULL OR r.dmu_role = \(search.dmuRole?.rawValue))))
              AND (\(search.after)::uuid IS NULL OR c.id > \(search.after))
            ORDER BY c.id
            LIMIT \(search.limit)
            """)
        var contacts: [Contact] = []
        for try await row in rows { contacts.append(try Contact(row: row)) }
        try await TenantAudit.record(
            "contact.search", subjectType: "contact", subjectID: nil, by: actor,
            details: ["results": String(contacts.count)], at: now, in: tx)
        return contacts
    }

    /// A person in the directory, with the organisations where they have a role today.
    public struct Listed: Sendable {
        public let contact: Contact
        /// (organisation, job title or nil), by organisation name.
        public let currentRoles: [(organisationName: String, jobTitle: String?)]
    }

    /// The library's people by last name, for staff to browse: a search on the start of the last name or an exact
    /// e-mail address, or everyone. Audited once, with the count, as a search.
    public static func directory(
        query: String?, limit: Int, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> [Listed] {
        let needle = query?.trimmed().lowercased()
        let pattern = needle.flatMap { $0.isEmpty ? nil : likePattern($0, prefix: true) }
        let today = CalendarDate(now).sql
        var contacts: [Contact] = []
        for try await row in try await tx.query(
            """
            SELECT \(unescaped: Contact.columns) FROM contacts c
            WHERE (\(pattern)::text IS NULL OR lower(c.last_name) LIKE \(pattern) OR c.email = \(needle))
            ORDER BY lower(c.last_name), lower(coalesce(c.first_name, '')), c.id
            LIMIT \(limit)
            """)
        {
            contacts.append(try Contact(row: row))
        }
        var roles: [UUID: [(organisationName: String, jobTitle: String?)]] = [:]
        if !contacts.isEmpty {
            let rows = try await tx.query(
                """
                SELECT r.contact_id, o.name, r.job_title FROM contact_roles r JOIN organisations o ON o.id = r.organisation_id
                WHERE r.contact_id = ANY(\(contacts.map(\.id))) AND r.active_from <= \(today)::date
                  AND (r.active_to IS NULL OR r.active_to >= \(today)::date)
                ORDER BY lower(o.name), o.id
                """)
            for try await (contactID, name, title) in rows.decode((UUID, String, String?).self) {
                roles[contactID, default: []].append((organisationName: name, jobTitle: title))
            }
        }
        let listed = contacts.map { Listed(contact: $0, currentRoles: roles[$0.id] ?? []) }
        try await TenantAudit.record(
            "contact.search", subjectType: "contact", subjectID: nil, by: actor, details: ["results": String(listed.count)], at: now, in: tx)
        return listed
    }

    static func map(_ error: PSQLError) -> any Error {
        switch (error.serverInfo?[.sqlState], error.serverInfo?[.constraintName]) {
        case ("23505", "contacts_email"?): RelationsError.invalid([FieldError(field: "email", message: "Another contact has this e-mail address.")])
        default: error
        }
    }
}
