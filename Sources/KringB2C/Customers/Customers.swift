import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Customers of one library: create, read, replace, search. Every read of one customer and every change
/// is written to the tenant's audit log in the same transaction.
public enum Customers {
    public static func create(_ draft: CustomerDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Customer {
        let id = UUID()
        let household = try await Households.place(
            postcode: draft.postcode, houseNumber: draft.houseNumber,
            addition: draft.houseNumberAddition, now: now, in: tx)
        let customer: Customer
        do {
            let rows = try await tx.query(
                """
                INSERT INTO customers (
                    id, roles, member_number, member_type, membership_status, membership_start, membership_end, end_reason,
                    subscription_fee_cents, first_name, infix, last_name, birth_date, email, phone, postcode, house_number,
                    house_number_addition, street, city, municipality, preferred_language, favourite_branch_id, genres, tags, notes,
                    household_id, created_at, updated_at)
                VALUES (
                    \(id), \(draft.roles), \(draft.memberNumber), \(draft.memberType), \(draft.membershipStatus),
                    \(draft.membershipStart?.description)::date, \(draft.membershipEnd?.description)::date, \(draft.endReason),
                    \(draft.subscriptionFeeCents), \(draft.firstName), \(draft.infix), \(draft.lastName), \(draft.birthDate?.description)::date,
                    \(draft.email), \(draft.phone), \(draft.postcode), \(draft.houseNumber), \(draft.houseNumberAddition), \(draft.street),
                    \(draft.city), \(draft.municipality), \(draft.preferredLanguage), \(draft.favouriteBranchID), \(draft.genres), \(draft.tags),
                    \(draft.notes), \(household), \(now), \(now))
                RETURNING \(unescaped: Customer.columns)
                """)
            customer = try await single(rows)
        } catch let error as PSQLError {
            throw map(error)
        }
        try await TenantAudit.record("customer.created", subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        try await Timeline.recordSystemEvent("customer.created", customerID: id, actor: actor, at: now, in: tx)
        return customer
    }

    /// The one customer a `RETURNING` statement gives; constraint errors surface while reading it.
    private static func single(_ rows: PostgresRowSequence) async throws -> Customer {
        for try await row in rows { return try Customer(row: row) }
        throw NoRowReturned()
    }

    /// Replaces the editable fields, refusing a lost update: `expectedVersion` must be the version the caller read.
    public static func replace(
        id: UUID, with draft: CustomerDraft.Valid, expectedVersion: Int, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Customer {
        let current = try await require(id: id, forUpdate: true, in: tx)
        if current.erasedAt != nil { throw CustomerError.erased }
        guard current.version == expectedVersion else { throw CustomerError.versionMismatch(current: current.version) }
        let household = try await Households.place(
            postcode: draft.postcode, houseNumber: draft.houseNumber,
            addition: draft.houseNumberAddition, now: now, in: tx)
        let updated: Customer
        do {
            let rows = try await tx.query(
                """
                UPDATE customers SET
                    version = version + 1, roles = \(draft.roles), member_number = \(draft.memberNumber), member_type = \(draft.memberType),
                    membership_status = \(draft.membershipStatus), membership_start = \(draft.membershipStart?.description)::date,
                    membership_end = \(draft.membershipEnd?.description)::date, end_reason = \(draft.endReason),
                    subscription_fee_cents = \(draft.subscriptionFeeCents), first_name = \(draft.firstName), infix = \(draft.infix),
                    last_name = \(draft.lastName), birth_date = \(draft.birthDate?.description)::date, email = \(draft.email),
                    phone = \(draft.phone), postcode = \(draft.postcode), house_number = \(draft.houseNumber),
                    house_number_addition = \(draft.houseNumberAddition), street = \(draft.street), city = \(draft.city),
                    municipality = \(draft.municipality), preferred_language = \(draft.preferredLanguage),
                    favourite_branch_id = \(draft.favouriteBranchID), genres = \(draft.genres), tags = \(draft.tags), notes = \(draft.notes),
                    household_id = \(household), updated_at = \(now)
                WHERE id = \(id)
                RETURNING \(unescaped: Customer.columns)
                """)
            updated = try await single(rows)
        } catch let error as PSQLError {
            throw map(error)
        }
        let changed = changedFields(current, updated)
        try await TenantAudit.record(
            "customer.updated", subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["fields": changed.joined(separator: " ")], at: now, in: tx)
        if !changed.isEmpty {
            try await Timeline.recordSystemEvent(
                "customer.updated", customerID: id, actor: actor, subject: "Changed: \(changed.joined(separator: ", "))",
                at: now, in: tx)
        }
        return updated
    }

    /// Names of the fields that differ, never their values (the audit log holds no personal data itself).
    static func changedFields(_ before: Customer, _ after: Customer) -> [String] {
        var fields: [String] = []
        func check<T: Equatable>(_ name: String, _ path: KeyPath<Customer, T>) {
            if before[keyPath: path] != after[keyPath: path] { fields.append(name) }
        }
        check("roles", \.roles)
        check("member_number", \.memberNumber)
        check("member_type", \.memberType)
        check("membership_status", \.membershipStatus)
        check("membership_start", \.membershipStart)
        check("membership_end", \.membershipEnd)
        check("first_name", \.firstName)
        check("infix", \.infix)
        check("last_name", \.lastName)
        check("birth_date", \.birthDate)
        check("email", \.email)
        check("phone", \.phone)
        check("postcode", \.postcode)
        check("house_number", \.houseNumber)
        check("street", \.street)
        check("city", \.city)
        check("municipality", \.municipality)
        check("favourite_branch_id", \.favouriteBranchID)
        check("genres", \.genres)
        check("tags", \.tags)
        check("notes", \.notes)
        return fields
    }

    /// Reads one customer, audited as a read of personal data.
    ///
    /// One statement reads the row and writes the audit record (only when the customer is there and not merged
    /// away): the 360 view runs it on every look at a customer.
    public static func read(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Customer {
        let rows = try await tx.rows(ProfileStatements.ReadAudited(id: id, actor: actor, now: now))
        return try live(rows)
    }

    /// The customer, or `notFound` / `merged`; an erased customer is returned (its personal fields are empty).
    static func require(id: UUID, forUpdate: Bool, in tx: TenantTransaction) async throws -> Customer {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Customer.columns), merged_into FROM customers WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        return try await live(rows)
    }

    /// The customer of rows of `Customer.columns` and `merged_into`, or `notFound` / `merged`.
    private static func live(_ rows: PostgresRowSequence) async throws -> Customer {
        var all: [PostgresRow] = []
        for try await row in rows { all.append(row) }
        return try live(all)
    }

    private static func live(_ rows: [PostgresRow]) throws -> Customer {
        guard let row = rows.first else { throw CustomerError.notFound }
        if let survivor = try row.makeRandomAccess()[35].decode(UUID?.self) { throw CustomerError.merged(into: survivor) }
        return try Customer(row: row)
    }

    public struct Search: Sendable {
        /// Matches the start of a last name, an e-mail address, a member number or a postcode.
        public var query: String?
        public var role: Customer.RoleKind?
        public var memberType: Customer.MemberType?
        public var branchID: UUID?
        public var after: UUID?
        public var limit: Int

        public init(
            query: String? = nil, role: Customer.RoleKind? = nil, memberType: Customer.MemberType? = nil,
            branchID: UUID? = nil, after: UUID? = nil, limit: Int = 50
        ) {
            self.query = query
            self.role = role
            self.memberType = memberType
            self.branchID = branchID
            self.after = after
            self.limit = limit
        }
    }

    /// Searches in keyset order of id; merged customers are left out. Audited once per search, with the hit count.
    public static func search(_ search: Search, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> [Customer] {
        let needle = search.query?.trimmingCharacters(in: .whitespaces).lowercased()
        let pattern = needle.map {
            $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
        }
        let postcode = needle.flatMap(Postcode.init)?.value
        // The search as the counter types it (a query, no filter, the first page) is prepared: planning the statement
        // anew was most of the database's time for it.
        if let needle, let query = search.query, search.role == nil, search.memberType == nil, search.branchID == nil, search.after == nil,
            let upper = Self.successor(of: needle)
        {
            let rows = try await tx.rows(
                QuickSearch(
                    lastNameFrom: needle, lastNameBelow: upper, email: needle, memberNumber: query, postcode: postcode, limit: search.limit,
                    actor: actor, now: now))
            return try rows.map(Customer.init(row:))
        }
        // One statement finds the customers and writes the audit record with their count.
        let audit = TenantAudit.row(
            action: "customer.search", subjectType: "customer", subjectID: nil, actorUserID: actor.userID,
            actorAPIKeyID: actor.apiKeyID, details: "jsonb_build_object('results', (SELECT count(*) FROM found)::text)", at: now)
        let rows = try await tx.query(
            sql: """
                WITH found AS (
                SELECT \(unescaped: Customer.columns) FROM customers
                WHERE merged_into IS NULL
                  AND (\(pattern)::text IS NULL OR lower(last_name) COLLATE "C" LIKE \(pattern) OR email = \(needle) OR member_number = \(search.query)
                       OR postcode = \(postcode))
                  AND (\(search.role?.rawValue)::text IS NULL OR \(search.role?.rawValue) = ANY(roles))
                  AND (\(search.memberType?.rawValue)::text IS NULL OR member_type = \(search.memberType?.rawValue))
                  AND (\(search.branchID)::uuid IS NULL OR favourite_branch_id = \(search.branchID))
                  AND (\(search.after)::uuid IS NULL OR id > \(search.after))
                ORDER BY id
                LIMIT \(search.limit)),
                audited AS (INSERT INTO audit_log (\(TenantAudit.columns)) VALUES (\(audit)))
                SELECT * FROM found ORDER BY id
                """)
        var customers: [Customer] = []
        for try await row in rows { customers.append(try Customer(row: row)) }
        return customers
    }

    /// The least string above every string that starts with `prefix` in byte order (the "C" collation): `prefix` with
    /// its last character raised by one. Nil for an empty prefix, or one that ends in the last character there is.
    static func successor(of prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        guard let last = scalars.popLast() else { return nil }
        var value = last.value + 1
        if (0xD800...0xDFFF).contains(value) { value = 0xE000 }
        guard let next = Unicode.Scalar(value) else { return nil }
        scalars.append(next)
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars)
        return String(text)
    }

    /// The search by a query alone, first page: a last name's start as a range of the index on `lower(last_name)`
    /// (a LIKE pattern in a parameter cannot use it), and the matches found through the four indexes before they are
    /// sorted (`OFFSET 0` keeps PostgreSQL from walking the primary key in order instead, which reads every customer
    /// when few match). With the audit record of the search and its count, as the general search writes it.
    struct QuickSearch: PreparedRows {
        static let name = "kring.Customers.QuickSearch"
        static let sql = """
            WITH found AS (
                SELECT * FROM (
                    SELECT \(Customer.columns) FROM customers
                    WHERE merged_into IS NULL
                      AND ((lower(last_name) COLLATE "C" >= $1 AND lower(last_name) COLLATE "C" < $2)
                           OR email = $3 OR member_number = $4 OR postcode = $5)
                    OFFSET 0) matches
                ORDER BY id LIMIT $6),
            audited AS (INSERT INTO audit_log (\(TenantAudit.columnList))
                        SELECT $7, $8, $9, 'customer.search', 'customer', NULL, jsonb_build_object('results', (SELECT count(*) FROM found)::text))
            SELECT * FROM found ORDER BY id
            """
        static var bindingDataTypes: [PostgresDataType] { [.text, .text, .text, .text, .text, .int8, .timestamptz, .uuid, .text] }

        let lastNameFrom: String
        let lastNameBelow: String
        let email: String
        let memberNumber: String
        let postcode: String?
        let limit: Int
        let actor: AuditActor
        let now: Date

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 9)
            bindings.append(lastNameFrom)
            bindings.append(lastNameBelow)
            bindings.append(email)
            bindings.append(memberNumber)
            if let postcode { bindings.append(postcode) } else { bindings.appendNull() }
            bindings.append(limit)
            bindings.append(now)
            bindings.append(actor: actor)
            return bindings
        }
    }

    static func map(_ error: PSQLError) -> any Error {
        switch (error.serverInfo?[.sqlState], error.serverInfo?[.constraintName]) {
        case ("23505", "customers_member_number_key"?): CustomerError.duplicateMemberNumber
        case ("23503", "customers_favourite_branch_id_fkey"?):
            CustomerError.invalid([FieldError(field: "favourite_branch_id", message: "No such branch in this library.")])
        default: error
        }
    }
}

/// Groups customers who live at one address.
enum Households {
    static func place(postcode: String?, houseNumber: String?, addition: String?, now: Date, in tx: TenantTransaction) async throws -> UUID? {
        guard let postcode, let houseNumber else { return nil }
        let rows = try await tx.query(
            """
            INSERT INTO households (id, postcode, house_number, house_number_addition, created_at)
            VALUES (\(UUID()), \(postcode), \(houseNumber), \(addition ?? ""), \(now))
            ON CONFLICT (postcode, house_number, house_number_addition) DO UPDATE SET postcode = EXCLUDED.postcode
            RETURNING id
            """)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }
}
