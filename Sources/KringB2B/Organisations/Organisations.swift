import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Organisations of one library: create, read, replace, delete, search. Every change is audited.
public enum Organisations {
    public static func create(
        _ draft: OrganisationDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Organisation {
        let id = UUID()
        if let parent = draft.parentID { _ = try await require(id: parent, as: "parent_id", in: tx) }
        let organisation: Organisation
        do {
            let rows = try await tx.query(
                """
                INSERT INTO organisations AS o (id, name, type, status, parent_id, street, house_number, postcode, city, municipality, website,
                                                account_owner_user_id, tags, notes, created_at, updated_at)
                VALUES (\(id), \(draft.name), \(draft.type), \(draft.status.rawValue), \(draft.parentID), \(draft.street), \(draft.houseNumber),
                        \(draft.postcode), \(draft.city), \(draft.municipality), \(draft.website), \(draft.accountOwnerUserID), \(draft.tags),
                        \(draft.notes), \(now), \(now))
                RETURNING \(unescaped: Organisation.columns)
                """)
            organisation = try await single(rows)
        } catch let error as PSQLError {
            throw map(error)
        }
        try await TenantAudit.record("organisation.created", subjectType: "organisation", subjectID: id.lowercased, by: actor, at: now, in: tx)
        return organisation
    }

    /// Replaces the editable fields; with `expectedVersion`, refuses a lost update.
    public static func replace(
        id: UUID, with draft: OrganisationDraft.Valid, expectedVersion: Int?, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Organisation {
        let current = try await require(id: id, forUpdate: true, in: tx)
        if let expectedVersion, current.version != expectedVersion { throw RelationsError.versionMismatch(current: current.version) }
        if let parent = draft.parentID { try await checkParent(parent, of: id, in: tx) }
        let updated: Organisation
        do {
            let rows = try await tx.query(
                """
                UPDATE organisations o SET
                    version = version + 1, name = \(draft.name), type = \(draft.type), status = \(draft.status.rawValue), parent_id = \(draft.parentID),
                    street = \(draft.street), house_number = \(draft.houseNumber), postcode = \(draft.postcode), city = \(draft.city),
                    municipality = \(draft.municipality), website = \(draft.website), account_owner_user_id = \(draft.accountOwnerUserID),
                    tags = \(draft.tags), notes = \(draft.notes), updated_at = \(now)
                WHERE id = \(id)
                RETURNING \(unescaped: Organisation.columns)
                """)
            updated = try await single(rows)
        } catch let error as PSQLError {
            throw map(error)
        }
        try await TenantAudit.record(
            "organisation.updated", subjectType: "organisation", subjectID: id.lowercased, by: actor,
            details: ["fields": changedFields(current, updated).joined(separator: " ")], at: now, in: tx)
        return updated
    }

    static func changedFields(_ before: Organisation, _ after: Organisation) -> [String] {
        var fields: [String] = []
        func check<T: Equatable>(_ name: String, _ path: KeyPath<Organisation, T>) {
            if before[keyPath: path] != after[keyPath: path] { fields.append(name) }
        }
        check("name", \.name)
        check("type", \.type)
        check("status", \.status)
        check("parent_id", \.parentID)
        check("street", \.street)
        check("house_number", \.houseNumber)
        check("postcode", \.postcode)
        check("city", \.city)
        check("municipality", \.municipality)
        check("website", \.website)
        check("account_owner_user_id", \.accountOwnerUserID)
        check("tags", \.tags)
        check("notes", \.notes)
        return fields
    }

    /// A parent must exist and must not lie below the organisation itself (no cycles).
    static func checkParent(_ parentID: UUID, of id: UUID, in tx: TenantTransaction) async throws {
        _ = try await require(id: parentID, as: "parent_id", in: tx)
        let rows = try await tx.query(
            """
            WITH RECURSIVE ancestors (id, parent_id, depth) AS (
                SELECT id, parent_id, 1 FROM organisations WHERE id = \(parentID)
                UNION ALL
                SELECT o.id, o.parent_id, a.depth + 1 FROM organisations o JOIN ancestors a ON o.id = a.parent_id WHERE a.depth < 50
            )
            SELECT count(*)::int FROM ancestors WHERE id = \(id)
            """)
        for try await count in rows.decode(Int.self) where count > 0 {
            throw RelationsError.invalid([FieldError(field: "parent_id", message: "An organisation cannot lie below itself.")])
        }
    }

    /// Deletes an organisation that nothing refers to; one with history is set to `former` instead.
    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await require(id: id, forUpdate: true, in: tx)
        let rows = try await tx.query(
            """
            SELECT EXISTS (SELECT 1 FROM contact_roles WHERE organisation_id = \(id)) OR EXISTS (SELECT 1 FROM interactions WHERE organisation_id = \(id))
                OR EXISTS (SELECT 1 FROM orders WHERE organisation_id = \(id)) OR EXISTS (SELECT 1 FROM agreements WHERE organisation_id = \(id))
                OR EXISTS (SELECT 1 FROM organisations WHERE parent_id = \(id)) OR EXISTS (SELECT 1 FROM tasks WHERE organisation_id = \(id))
            """)
        for try await used in rows.decode(Bool.self) where used {
            throw RelationsError.conflict(
                "This organisation has contacts, history, orders, agreements, tasks or member organisations; set its status to former instead.")
        }
        try await tx.query("DELETE FROM organisations WHERE id = \(id)")
        try await TenantAudit.record("organisation.deleted", subjectType: "organisation", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    public static func find(id: UUID, in tx: TenantTransaction) async throws -> Organisation {
        try await require(id: id, forUpdate: false, in: tx)
    }

    static func require(id: UUID, forUpdate: Bool, in tx: TenantTransaction) async throws -> Organisation {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Organisation.columns) FROM organisations o WHERE o.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        for try await row in rows { return try Organisation(row: row) }
        throw RelationsError.notFound(.organisation)
    }

    /// An organisation named in a body: unknown is a field error, not a 404 of the route.
    static func require(id: UUID, as field: String, in tx: TenantTransaction) async throws -> Organisation {
        do {
            return try await require(id: id, forUpdate: false, in: tx)
        } catch RelationsError.notFound {
            throw RelationsError.invalid([FieldError(field: field, message: "No such organisation in this library.")])
        }
    }

    public struct Search: Sendable {
        /// Matches part of the name, or a postcode, or the start of the city.
        public var query: String?
        public var type: String?
        public var status: Organisation.Status?
        public var accountOwnerUserID: UUID?
        public var parentID: UUID?
        public var tag: String?
        public var after: UUID?
        public var limit: Int

        public init(
            query: String? = nil, type: String? = nil, status: Organisation.Status? = nil, accountOwnerUserID: UUID? = nil,
            parentID: UUID? = nil, tag: String? = nil, after: UUID? = nil, limit: Int = 50
        ) {
            self.query = query
            self.type = type
            self.status = status
            self.accountOwnerUserID = accountOwnerUserID
            self.parentID = parentID
            self.tag = tag
            self.after = after
            self.limit = limit
        }
    }

    /// Searches in keyset order of id.
    public static func search(_ search: Search, in tx: TenantTransaction) async throws -> [Organisation] {
        let needle = search.query?.trimmed().lowercased()
        let contains = needle.flatMap { $0.isEmpty ? nil : likePattern($0) }
        let startsWith = needle.flatMap { $0.isEmpty ? nil : likePattern($0, prefix: true) }
        let postcode = needle.flatMap(Postcode.init)?.value
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Organisation.columns) FROM organisations o
            WHERE (\(contains)::text IS NULL OR lower(o.name) LIKE \(contains) OR lower(o.city) LIKE \(startsWith) OR o.postcode = \(postcode))
              AND (\(search.type)::text IS NULL OR o.type = \(search.type))
              AND (\(search.status?.rawValue)::text IS NULL OR o.status = \(search.status?.rawValue))
              AND (\(search.accountOwnerUserID)::uuid IS NULL OR o.account_owner_user_id = \(search.accountOwnerUserID))
              AND (\(search.parentID)::uuid IS NULL OR o.parent_id = \(search.parentID))
              AND (\(search.tag)::text IS NULL OR \(search.tag) = ANY (o.tags))
              AND (\(search.after)::uuid IS NULL OR o.id > \(search.after))
            ORDER BY o.id
            LIMIT \(search.limit)
            """)
        var organisations: [Organisation] = []
        for try await row in rows { organisations.append(try Organisation(row: row)) }
        return organisations
    }

    private static func single(_ rows: PostgresRowSequence) async throws -> Organisation {
        for try await row in rows { return try Organisation(row: row) }
        throw NoRowReturned()
    }

    static func map(_ error: PSQLError) -> any Error {
        switch (error.serverInfo?[.sqlState], error.serverInfo?[.constraintName]) {
        case ("23505", "organisations_name_postcode"?):
            RelationsError.invalid([FieldError(field: "name", message: "This library has an organisation with this name and postcode already.")])
        case ("23503", "organisations_type_fkey"?):
            RelationsError.invalid([FieldError(field: "type", message: "Unknown organisation type; see GET /api/v1/organisation-types.")])
        case ("23503", "organisations_parent_id_fkey"?):
            RelationsError.invalid([FieldError(field: "parent_id", message: "No such organisation in this library.")])
        case ("23514", "organisations_check"?):
            RelationsError.invalid([FieldError(field: "parent_id", message: "An organisation cannot lie below itself.")])
        default: error
        }
    }
}

/// Organisation types: the built-in list and the library's own.
public enum OrganisationTypes {
    public static func list(in tx: TenantTransaction) async throws -> [OrganisationType] {
        let rows = try await tx.query("SELECT code, name, built_in FROM organisation_types ORDER BY NOT built_in, name")
        var types: [OrganisationType] = []
        for try await (code, name, builtIn) in rows.decode((String, String, Bool).self) {
            types.append(OrganisationType(code: code, name: name, builtIn: builtIn))
        }
        return types
    }

    /// Adds one of the library's own types, e.g. `school_board` "Schoolbestuur".
    public static func create(code: String, name: String, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> OrganisationType
    {
        var v = Validator()
        let code = v.required(code, "code", max: 40).lowercased()
        if !code.isEmpty && code.range(of: "^[a-z][a-z0-9_]{1,39}$", options: .regularExpression) == nil {
            v.fail("code", "Use 2 to 40 lowercase letters, digits or _, starting with a letter.")
        }
        let name = v.required(name, "name", max: 80)
        try v.check()
        let rows = try await tx.query(
            """
            INSERT INTO organisation_types (code, name, built_in, created_at) VALUES (\(code), \(name), false, \(now))
            ON CONFLICT (code) DO NOTHING RETURNING code
            """)
        var created = false
        for try await _ in rows { created = true }
        guard created else { throw RelationsError.invalid([FieldError(field: "code", message: "This type exists already.")]) }
        try await TenantAudit.record("organisation_type.created", subjectType: "organisation_type", subjectID: code, by: actor, at: now, in: tx)
        return OrganisationType(code: code, name: name, builtIn: false)
    }
}

extension UUID {
    /// The lowercase form used in audit rows and URLs.
    var lowercased: String { uuidString.lowercased() }
}
