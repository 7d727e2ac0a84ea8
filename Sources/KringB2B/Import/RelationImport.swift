import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// What an import of organisations or contacts did, or in a dry run would do.
public struct RelationImportReport: Sendable, Codable, Equatable {
    public struct RowError: Sendable, Codable, Equatable {
        public let line: Int
        public let column: String?
        public let reason: String
    }

    public var kind: RelationImport.Kind
    public var dryRun: Bool
    public var encoding: TextEncoding?
    public var separator: String?
    public var rows = 0
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    public var rejected = 0
    /// The first 1000 bad rows; `rejected` counts them all.
    public var errors: [RowError] = []

    mutating func reject(line: Int, column: String?, _ reason: String) {
        rejected += 1
        if errors.count < 1000 { errors.append(RowError(line: line, column: column, reason: reason)) }
    }
}

/// Imports the colleagues' lists of organisations and contacts (Excel saved as CSV), with the member import's rules:
/// a column mapping, every row validated on its own and reported with line, column and reason, deduplication
/// (organisations on name + postcode, contacts on e-mail, else on name at the organisation), a dry run, and a
/// re-import of the same file that changes nothing. An empty cell keeps what Kring knows.
public struct RelationImport: Sendable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case organisations, contacts }

    public var kind: Kind
    public var mapping: RelationImportMapping
    public var dryRun: Bool
    /// Lists are hand-kept; a larger file is more likely a mistake than a list.
    public static let maxRows = 50_000

    public init(kind: Kind, mapping: RelationImportMapping? = nil, dryRun: Bool = false) {
        self.kind = kind
        self.mapping = mapping ?? (kind == .organisations ? .defaultOrganisations : .defaultContacts)
        self.dryRun = dryRun
    }

    /// Thrown to roll back a dry run after its report is complete.
    struct DryRunFinished: Error { let report: RelationImportReport }

    /// Runs the import in one transaction of the tenant. `staff` maps lowercased e-mail addresses of the library's
    /// staff to their user ids (for the account owner column).
    public func run(
        _ bytes: [UInt8], staff: [String: UUID], by actor: AuditActor, now: Date, db: Database, tenant: Tenant, progress: Progress? = nil
    ) async throws -> RelationImportReport {
        do {
            return try await db.withTenant(tenant) { tx in
                let report = try await run(bytes, staff: staff, by: actor, now: now, in: tx, progress: progress)
                if dryRun { throw DryRunFinished(report: report) }
                return report
            }
        } catch let finished as DryRunFinished {
            return finished.report
        }
    }

    /// Told how many rows are done, every `progressEvery` rows, while an import runs (from another connection, for a page to show).
    public typealias Progress = @Sendable (Int) async -> Void
    static let progressEvery = 250

    /// The import inside the caller's transaction; a dry run's caller rolls it back.
    public func run(
        _ bytes: [UInt8], staff: [String: UUID], by actor: AuditActor, now: Date, in tx: TenantTransaction, progress: Progress? = nil
    ) async throws -> RelationImportReport {
        var report = RelationImportReport(kind: kind, dryRun: dryRun)
        let table = try Table(bytes, mapping: mapping, report: &report)
        switch kind {
        case .organisations: try await importOrganisations(table, staff: staff, now: now, into: &report, in: tx, progress: progress)
        case .contacts: try await importContacts(table, now: now, into: &report, in: tx, progress: progress)
        }
        report.unchanged = report.rows - report.rejected - report.inserted - report.updated
        try await TenantAudit.record(
            dryRun ? "import.\(kind.rawValue).dry_run" : "import.\(kind.rawValue)", subjectType: "import", subjectID: nil,
            by: actor,
            details: [
                "rows": String(report.rows), "inserted": String(report.inserted),
                "updated": String(report.updated), "rejected": String(report.rejected),
            ],
            at: now, in: tx)
        return report
    }

    /// The file read whole into rows of mapped fields (hand-kept lists are small).
    struct Table {
        struct Row {
            let line: Int
            var values: [RelationImportMapping.Field: String]
            /// A cell that was not text in the file's encoding.
            var undecodable: String?
        }

        var header: [String] = []
        var index: [RelationImportMapping.Field: Int] = [:]
        var rows: [Row] = []

        init(_ file: [UInt8], mapping: RelationImportMapping, report: inout RelationImportReport) throws {
            var bytes = file
            let layout = CSVLayout(start: &bytes, encoding: mapping.encoding, separator: mapping.separator)
            guard !bytes.isEmpty else { throw RelationsError.unreadableFile("The file is empty.") }
            let encoding = layout.encoding
            let separator = layout.separator
            report.encoding = encoding
            report.separator = layout.separatorText
            var parser = CSVParser(separator: separator)
            var records: [CSVParser.Record] = []
            parser.feed(bytes) { records.append($0) }
            do {
                try parser.finish { records.append($0) }
            } catch let error as CSVParser.UnterminatedQuote {
                throw RelationsError.unreadableFile("A quoted field that starts on line \(error.line) never ends.")
            }
            guard let first = records.first else { throw RelationsError.unreadableFile("The file has no header row.") }
            guard records.count - 1 <= RelationImport.maxRows else {
                throw RelationsError.unreadableFile("The file has more than \(RelationImport.maxRows) rows.")
            }
            for (position, field) in first.fields.enumerated() {
                guard let name = encoding.decode(field) else {
                    throw RelationsError.unreadableFile("Header column \(position + 1) is not \(encoding.rawValue) text.")
                }
                header.append(name.trimmed())
            }
            let byKey = Dictionary(mapping.columns.map { (RelationImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            for (position, name) in header.enumerated() {
                if let field = byKey[RelationImportMapping.key(name)], index[field] == nil { index[field] = position }
            }
            for record in records.dropFirst() {
                var row = Row(line: record.line, values: [:])
                if record.fields.count != header.count {
                    row.undecodable = "The row has \(record.fields.count) fields; the header has \(header.count)."
                    rows.append(row)
                    continue
                }
                for (field, position) in index {
                    guard let text = encoding.decode(record.fields[position]) else {
                        row.undecodable = "Column \(header[position]) is not \(encoding.rawValue) text."
                        break
                    }
                    let trimmed = text.trimmed()
                    if !trimmed.isEmpty { row.values[field] = trimmed }
                }
                rows.append(row)
            }
            report.rows = rows.count
        }

        func column(_ field: RelationImportMapping.Field) -> String? { index[field].map { header[$0] } }

        /// The column a draft's field error is about.
        func column(forDraftField field: String) -> String {
            let base = String(field.split(separator: "[").first ?? Substring(field))
            return RelationImportMapping.Field(rawValue: base).flatMap(column) ?? field
        }
    }

    // MARK: Organisations

    private func importOrganisations(
        _ table: Table, staff: [String: UUID], now: Date, into report: inout RelationImportReport, in tx: TenantTransaction, progress: Progress?
    ) async throws {
        guard table.index[.name] != nil else {
            throw RelationsError.unreadableFile("No column maps to name; the header has: \(table.header.joined(separator: ", ")).")
        }
        let types = try await typeCodes(in: tx)
        let typeMap = Dictionary(mapping.types.map { (RelationImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        let statusMap = Dictionary(mapping.statuses.map { (RelationImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        let listSeparator = mapping.listSeparator?.first ?? "|"

        struct Pending {
            let line: Int
            let valid: OrganisationDraft.Valid
            let typeGiven: Bool
            let statusGiven: Bool
            let parent: (String, String?)?
        }
        var pending: [Pending] = []
        var seen: [String: Int] = [:]
        for row in table.rows {
            if let problem = row.undecodable {
                report.reject(line: row.line, column: nil, problem)
                continue
            }
            let values = row.values
            var draft = OrganisationDraft(name: values[.name], type: nil)
            if let raw = values[.type] {
                let key = RelationImportMapping.key(raw)
                draft.type = typeMap[key] ?? types[key] ?? key.replacingOccurrences(of: " ", with: "_")
            } else {
                draft.type = "other"
            }
            draft.status = values[.status].map { statusMap[RelationImportMapping.key($0)] ?? RelationImportMapping.key($0) }
            draft.street = values[.street]
            draft.houseNumber = values[.houseNumber]
            draft.postcode = values[.postcode]
            draft.city = values[.city]
            draft.municipality = values[.municipality]
            draft.website = values[.website]
            draft.tags = values[.tags].map { $0.split(separator: listSeparator).map(String.init) }
            draft.notes = values[.notes]
            if let owner = values[.accountOwner] {
                guard let id = staff[RelationImportMapping.key(owner)] else {
                    report.reject(
                        line: row.line, column: table.column(.accountOwner), "No staff member of this library has the e-mail address '\(owner)'.")
                    continue
                }
                draft.accountOwnerUserID = id
            }
            let valid: OrganisationDraft.Valid
            do {
                valid = try draft.validate()
            } catch {
                let first = Self.firstError(error)
                report.reject(line: row.line, column: table.column(forDraftField: first.field), first.message)
                continue
            }
            if types.values.contains(valid.type) == false {
                report.reject(line: row.line, column: table.column(.type), "Unknown organisation type '\(values[.type] ?? valid.type)'.")
                continue
            }
            let key = Self.organisationKey(valid.name, valid.postcode)
            if let firstLine = seen[key] {
                report.reject(line: row.line, column: table.column(.name), "This organisation appears again (first on line \(firstLine)).")
                continue
            }
            seen[key] = row.line
            let parent = values[.parentName].map { ($0, values[.parentPostcode].flatMap(Postcode.init)?.value) }
            pending.append(
                Pending(line: row.line, valid: valid, typeGiven: values[.type] != nil, statusGiven: values[.status] != nil, parent: parent))
        }

        // A parent must be in the file or in Kring already; otherwise the row is not imported at all.
        var accepted: [Pending] = []
        for item in pending {
            if let (name, postcode) = item.parent {
                let inFile = pending.contains {
                    RelationImportMapping.key($0.valid.name) == RelationImportMapping.key(name) && (postcode == nil || $0.valid.postcode == postcode)
                }
                if !inFile, case .failure(let reason) = try await findOrganisation(name: name, postcode: postcode, in: tx) {
                    report.reject(line: item.line, column: table.column(.parentName), reason.description)
                    continue
                }
            }
            accepted.append(item)
        }

        var outcome: [Int: Outcome] = [:]
        var ids: [Int: UUID] = [:]
        for (index, item) in accepted.enumerated() {
            let (id, result) = try await upsertOrganisation(item.valid, typeGiven: item.typeGiven, statusGiven: item.statusGiven, now: now, in: tx)
            ids[item.line] = id
            outcome[item.line] = result
            if let progress, (index + 1) % Self.progressEvery == 0 { await progress(report.rejected + index + 1) }
        }
        for item in accepted {
            guard let (name, postcode) = item.parent, let id = ids[item.line] else { continue }
            switch try await findOrganisation(name: name, postcode: postcode, in: tx) {
            case .failure(let reason):
                report.reject(line: item.line, column: table.column(.parentName), reason.description)
                outcome[item.line] = nil
            case .success(let parentID) where parentID == id:
                report.reject(line: item.line, column: table.column(.parentName), "An organisation cannot lie below itself.")
                outcome[item.line] = nil
            case .success(let parentID):
                let changed =
                    try await tx.query(
                        """
                        UPDATE organisations SET parent_id = \(parentID), version = version + 1, updated_at = \(now)
                        WHERE id = \(id) AND parent_id IS DISTINCT FROM \(parentID) RETURNING id
                        """
                    ).first() != nil
                if changed, outcome[item.line] == .unchanged { outcome[item.line] = .updated }
            }
        }
        for result in outcome.values {
            switch result {
            case .inserted: report.inserted += 1
            case .updated: report.updated += 1
            case .unchanged: break
            }
        }
    }

    enum Outcome { case inserted, updated, unchanged }

    static func organisationKey(_ name: String, _ postcode: String?) -> String {
        RelationImportMapping.key(name) + "|" + (postcode ?? "")
    }

    static func firstError(_ error: RelationsError) -> FieldError {
        if case .invalid(let errors) = error, let first = errors.first { return first }
        return FieldError(field: "", message: "Invalid row.")
    }

    /// Type codes by code and by lowercased name.
    private func typeCodes(in tx: TenantTransaction) async throws -> [String: String] {
        var codes: [String: String] = [:]
        for type in try await OrganisationTypes.list(in: tx) {
            codes[type.code] = type.code
            codes[RelationImportMapping.key(type.name)] = type.code
        }
        return codes
    }

    /// The one organisation with this name (and postcode, when given).
    private func findOrganisation(name: String, postcode: String?, in tx: TenantTransaction) async throws -> Result<UUID, LookupFailure> {
        let rows = try await tx.query(
            """
            SELECT id FROM organisations WHERE lower(name) = \(RelationImportMapping.key(name)) AND (\(postcode)::text IS NULL OR postcode = \(postcode))
            ORDER BY id LIMIT 2
            """)
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        switch ids.count {
        case 0:
            return .failure(
                LookupFailure(
                    "No organisation '\(name)'\(postcode.map { " with postcode \($0)" } ?? "") in this library; import organisations first."))
        case 1: return .success(ids[0])
        default: return .failure(LookupFailure("Several organisations are called '\(name)'; give the postcode."))
        }
    }

    struct LookupFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func upsertOrganisation(
        _ valid: OrganisationDraft.Valid, typeGiven: Bool, statusGiven: Bool, now: Date, in tx: TenantTransaction
    ) async throws -> (UUID, Outcome) {
        let existing = try await tx.query(
            """
            SELECT id FROM organisations WHERE lower(name) = lower(\(valid.name)) AND coalesce(postcode, '') = \(valid.postcode ?? "") FOR UPDATE
            """
        ).first()
        guard let row = existing else {
            let id = UUID()
            try await tx.query(
                """
                INSERT INTO organisations (id, name, type, status, street, house_number, postcode, city, municipality, website, account_owner_user_id,
                                           tags, notes, created_at, updated_at)
                VALUES (\(id), \(valid.name), \(valid.type), \(valid.status.rawValue), \(valid.street), \(valid.houseNumber), \(valid.postcode),
                        \(valid.city), \(valid.municipality), \(valid.website), \(valid.accountOwnerUserID), \(valid.tags), \(valid.notes), \(now), \(now))
                """)
            return (id, .inserted)
        }
        let id = try row.decode(UUID.self)
        let type = typeGiven ? valid.type : nil
        let status = statusGiven ? valid.status.rawValue : nil
        let tags = valid.tags.isEmpty ? nil : valid.tags
        let changed =
            try await tx.query(
                """
                UPDATE organisations SET name = \(valid.name), type = coalesce(\(type), type), status = coalesce(\(status), status),
                    street = coalesce(\(valid.street), street), house_number = coalesce(\(valid.houseNumber), house_number),
                    city = coalesce(\(valid.city), city), municipality = coalesce(\(valid.municipality), municipality),
                    website = coalesce(\(valid.website), website), account_owner_user_id = coalesce(\(valid.accountOwnerUserID), account_owner_user_id),
                    tags = coalesce(\(tags)::text[], tags), notes = coalesce(\(valid.notes), notes), version = version + 1, updated_at = \(now)
                WHERE id = \(id)
                  AND (name, type, status, street, house_number, city, municipality, website, account_owner_user_id, tags, notes) IS DISTINCT FROM
                      (\(valid.name), coalesce(\(type), type), coalesce(\(status), status), coalesce(\(valid.street), street),
                       coalesce(\(valid.houseNumber), house_number), coalesce(\(valid.city), city), coalesce(\(valid.municipality), municipality),
                       coalesce(\(valid.website), website), coalesce(\(valid.accountOwnerUserID), account_owner_user_id), coalesce(\(tags)::text[], tags),
                       coalesce(\(valid.notes), notes))
                RETURNING id
                """
            ).first() != nil
        return (id, changed ? .updated : .unchanged)
    }

    // MARK: Contacts

    private func importContacts(
        _ table: Table, now: Date, into report: inout RelationImportReport, in tx: TenantTransaction, progress: Progress?
    ) async throws {
        for field in [RelationImportMapping.Field.organisationName, .lastName] where table.index[field] == nil {
            throw RelationsError.unreadableFile("No column maps to \(field.rawValue); the header has: \(table.header.joined(separator: ", ")).")
        }
        let roleMap = Dictionary(mapping.dmuRoles.map { (RelationImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        let topic = mapping.consentTopic ?? "relations:mailing"
        let today = CalendarDate(now)
        var seen: [String: Int] = [:]
        for (index, row) in table.rows.enumerated() {
            if let progress, index > 0, index % Self.progressEvery == 0 { await progress(index) }
            if let problem = row.undecodable {
                report.reject(line: row.line, column: nil, problem)
                continue
            }
            let values = row.values
            guard let organisationName = values[.organisationName] else {
                report.reject(line: row.line, column: table.column(.organisationName), "Name the organisation.")
                continue
            }
            var organisationPostcode: String?
            if let raw = values[.organisationPostcode] {
                guard let code = Postcode(raw) else {
                    report.reject(line: row.line, column: table.column(.organisationPostcode), "Not a Dutch postcode; use 1234 AB.")
                    continue
                }
                organisationPostcode = code.value
            }
            let role = ContactRoleDraft(
                organisationID: UUID(), dmuRole: values[.dmuRole].map { roleMap[RelationImportMapping.key($0)] ?? RelationImportMapping.key($0) },
                jobTitle: values[.jobTitle], activeFrom: values[.activeFrom], activeTo: values[.activeTo])
            let draft = ContactDraft(
                firstName: values[.firstName], infix: values[.infix], lastName: values[.lastName], email: values[.email],
                phone: values[.phone], notes: values[.notes], roles: [role])
            let valid: ContactDraft.Valid
            do {
                valid = try draft.validate(today: today)
            } catch {
                let first = Self.firstError(error)
                let field = first.field.hasPrefix("roles[0].") ? String(first.field.dropFirst("roles[0].".count)) : first.field
                report.reject(line: row.line, column: table.column(forDraftField: field), first.message)
                continue
            }
            var consent: ContactConsent.Status?
            if let raw = values[.mailingConsent] {
                switch RelationImportMapping.key(raw) {
                case "ja", "j", "yes", "y", "true", "1", "x": consent = .optedIn
                case "nee", "n", "no", "false", "0": consent = .withdrawn
                default:
                    report.reject(line: row.line, column: table.column(.mailingConsent), "Use ja or nee.")
                    continue
                }
            }
            let organisationID: UUID
            switch try await findOrganisation(name: organisationName, postcode: organisationPostcode, in: tx) {
            case .failure(let reason):
                report.reject(line: row.line, column: table.column(.organisationName), reason.description)
                continue
            case .success(let id): organisationID = id
            }
            let person =
                valid.email ?? RelationImportMapping.key([valid.firstName, valid.infix, valid.lastName].compactMap { $0 }.joined(separator: " "))
            let key = person + "|" + organisationID.lowercased
            if let firstLine = seen[key] {
                report.reject(
                    line: row.line, column: table.column(valid.email == nil ? .lastName : .email),
                    "This person appears again at this organisation (first on line \(firstLine)).")
                continue
            }
            seen[key] = row.line
            guard var roleValid = valid.roles.first else { continue }
            roleValid.organisationID = organisationID
            let outcome = try await upsertContact(
                valid, role: roleValid, activeFromGiven: values[.activeFrom] != nil, consent: consent, topic: topic,
                now: now, in: tx)
            switch outcome {
            case .inserted: report.inserted += 1
            case .updated: report.updated += 1
            case .unchanged: break
            }
        }
    }

    private func upsertContact(
        _ valid: ContactDraft.Valid, role: ContactRoleDraft.Valid, activeFromGiven: Bool, consent: ContactConsent.Status?, topic: String,
        now: Date, in tx: TenantTransaction
    ) async throws -> Outcome {
        var contactID: UUID?
        if let email = valid.email {
            contactID = try await tx.query("SELECT id FROM contacts WHERE email = \(email) FOR UPDATE").first()?.decode(UUID.self)
        }
        if contactID == nil {
            // Without an e-mail match: the one person of this name with a role at this organisation, if any.
            let name = RelationImportMapping.key([valid.firstName, valid.infix, valid.lastName].compactMap { $0 }.joined(separator: " "))
            let rows = try await tx.query(
                """
                SELECT DISTINCT c.id FROM contacts c JOIN contact_roles r ON r.contact_id = c.id
                WHERE r.organisation_id = \(role.organisationID) AND lower(concat_ws(' ', c.first_name, c.infix, c.last_name)) = \(name)
                  AND (c.email IS NULL OR \(valid.email)::text IS NULL)
                LIMIT 2
                """)
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            if ids.count == 1 { contactID = ids[0] }
        }
        var outcome = Outcome.unchanged
        let id: UUID
        if let contactID {
            id = contactID
            let changed =
                try await tx.query(
                    """
                    UPDATE contacts SET first_name = coalesce(\(valid.firstName), first_name), infix = coalesce(\(valid.infix), infix),
                        last_name = \(valid.lastName), email = coalesce(\(valid.email), email), phone = coalesce(\(valid.phone), phone),
                        notes = coalesce(\(valid.notes), notes), version = version + 1, updated_at = \(now)
                    WHERE id = \(id)
                      AND (first_name, infix, last_name, email, phone, notes) IS DISTINCT FROM
                          (coalesce(\(valid.firstName), first_name), coalesce(\(valid.infix), infix), \(valid.lastName), coalesce(\(valid.email), email),
                           coalesce(\(valid.phone), phone), coalesce(\(valid.notes), notes))
                    RETURNING id
                    """
                ).first() != nil
            if changed { outcome = .updated }
        } else {
            id = UUID()
            try await tx.query(
                """
                INSERT INTO contacts (id, first_name, infix, last_name, email, phone, notes, created_at, updated_at)
                VALUES (\(id), \(valid.firstName), \(valid.infix), \(valid.lastName), \(valid.email), \(valid.phone), \(valid.notes), \(now), \(now))
                """)
            outcome = .inserted
        }

        // The role at this organisation: the one that started on the given day, else the one still running.
        let from = activeFromGiven ? role.activeFrom.sql : nil
        let existingRole = try await tx.query(
            """
            SELECT id FROM contact_roles
            WHERE contact_id = \(id) AND organisation_id = \(role.organisationID)
              AND ((\(from)::date IS NOT NULL AND active_from = \(from)::date) OR (\(from)::date IS NULL AND active_to IS NULL))
            ORDER BY active_from DESC, id LIMIT 1
            """
        ).first()?.decode(UUID.self)
        if let roleID = existingRole {
            let changed =
                try await tx.query(
                    """
                    UPDATE contact_roles SET dmu_role = \(role.dmuRole.rawValue), job_title = coalesce(\(role.jobTitle), job_title),
                        active_to = coalesce(\(role.activeTo?.sql)::date, active_to), updated_at = \(now)
                    WHERE id = \(roleID)
                      AND (dmu_role, job_title, active_to) IS DISTINCT FROM
                          (\(role.dmuRole.rawValue), coalesce(\(role.jobTitle), job_title), coalesce(\(role.activeTo?.sql)::date, active_to))
                    RETURNING id
                    """
                ).first() != nil
            if changed && outcome == .unchanged { outcome = .updated }
        } else {
            try await tx.query(
                """
                INSERT INTO contact_roles (id, contact_id, organisation_id, dmu_role, job_title, active_from, active_to, created_at, updated_at)
                VALUES (\(UUID()), \(id), \(role.organisationID), \(role.dmuRole.rawValue), \(role.jobTitle), \(role.activeFrom.sql)::date,
                        \(role.activeTo?.sql)::date, \(now), \(now))
                """)
            if outcome == .unchanged { outcome = .updated }
        }

        if let consent {
            let current = try await tx.query(
                """
                SELECT status FROM contact_consents WHERE contact_id = \(id) AND topic = \(topic) ORDER BY recorded_at DESC, id DESC LIMIT 1
                """
            ).first()?.decode(String.self)
            let holds = try current.map { try UnreadableColumn.enumValue(ContactConsent.Status.self, $0, column: "status") }
                .map { $0 == .withdrawn ? ContactConsent.Status.withdrawn : .optedIn }
            if holds != consent && !(holds == nil && consent == .withdrawn) {
                try await tx.query(
                    """
                    INSERT INTO contact_consents (contact_id, topic, status, recorded_at, source, evidence)
                    VALUES (\(id), \(topic), \(consent.rawValue), \(now), 'import', '{}')
                    """)
                if outcome == .unchanged { outcome = .updated }
            }
        }
        return outcome
    }
}
