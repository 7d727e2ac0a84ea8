import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Which column of a ticketing export feeds which registration field, and how the export spells its statuses.
///
/// `Deploy/mappings/registrations-default.json` is the default for a typical ticketing export (Dutch headers).
public struct RegistrationMapping: Sendable, Codable, Equatable {
    public enum Field: String, Sendable, Codable, CaseIterable {
        case ticketRef = "ticket_ref"
        case activityRef = "activity_ref"
        case activityTitle = "activity_title"
        case activityDate = "activity_date"
        case activityTime = "activity_time"
        case activityCategory = "activity_category"
        case branch
        case firstName = "first_name"
        case infix
        case lastName = "last_name"
        case email, phone
        case memberNumber = "member_number"
        case price, status
        case registeredAt = "registered_at"
    }

    /// Export column -> field.
    public var columns: [String: Field]
    /// Export value -> registration status (`booked`, `attended`, `no_show`, `cancelled`, `waitlisted`).
    public var statuses: [String: String]
    public var encoding: TextEncoding?
    public var separator: String?

    public init(columns: [String: Field], statuses: [String: String] = [:], encoding: TextEncoding? = nil, separator: String? = nil) {
        self.columns = columns
        self.statuses = statuses
        self.encoding = encoding
        self.separator = separator
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        columns = try container.decode([String: Field].self, forKey: .columns)
        statuses = try container.decodeIfPresent([String: String].self, forKey: .statuses) ?? [:]
        encoding = try container.decodeIfPresent(TextEncoding.self, forKey: .encoding)
        separator = try container.decodeIfPresent(String.self, forKey: .separator)
    }

    /// A ticketing export as ticketing systems commonly write it (Dutch headers).
    public static let defaultRegistrations = RegistrationMapping(
        columns: [
            "Ticketnummer": .ticketRef, "Evenement-ID": .activityRef, "Evenement": .activityTitle, "Datum": .activityDate,
            "Aanvang": .activityTime, "Categorie": .activityCategory, "Locatie": .branch, "Voornaam": .firstName,
            "Tussenvoegsel": .infix, "Achternaam": .lastName, "E-mail": .email, "Telefoon": .phone, "Pasnummer": .memberNumber,
            "Prijs": .price, "Status": .status, "Besteldatum": .registeredAt,
        ],
        statuses: [
            "geboekt": "booked", "betaald": "booked", "gereserveerd": "booked", "gescand": "attended", "aanwezig": "attended",
            "ingecheckt": "attended", "geannuleerd": "cancelled", "terugbetaald": "cancelled", "niet verschenen": "no_show",
            "no-show": "no_show", "wachtlijst": "waitlisted",
        ])
}

/// Imports a ticketing export: every ticket becomes a registration of a customer for an activity.
///
/// The activity is found by the ticketing system's event id, else by title and day, else created from the row.
/// The customer is found by member number, then by e-mail (a member before a guest); anyone else becomes an
/// activity guest. Re-importing the same file changes nothing; a changed status or price updates the registration.
public struct RegistrationImport: Sendable {
    public var mapping: RegistrationMapping
    public var dryRun: Bool
    /// Library activities are in Dutch time.
    static let timeZone = TimeZone(identifier: "Europe/Amsterdam")!
    /// How long an activity created from a ticket lasts when the export does not say.
    static let defaultDuration: TimeInterval = 90 * 60

    public init(mapping: RegistrationMapping = .defaultRegistrations, dryRun: Bool = false) {
        self.mapping = mapping
        self.dryRun = dryRun
    }

    public func run(_ source: some ImportSource, by actor: AuditActor, now: Date, db: Database, tenant: Tenant) async throws -> ImportReport {
        var source = source
        do {
            return try await db.withTenant(tenant) { tx in
                let report = try await run(&source, by: actor, now: now, in: tx)
                if dryRun { throw MemberImport.DryRunFinished(report: report) }
                return report
            }
        } catch let finished as MemberImport.DryRunFinished {
            return finished.report
        }
    }

    func run(_ source: inout some ImportSource, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> ImportReport {
        var report = ImportReport(dryRun: dryRun)
        report.guestsCreated = 0
        report.activitiesCreated = 0
        let (first, encoding, separator) = try ImportFile.open(&source, encoding: mapping.encoding, separator: mapping.separator, into: &report)
        try await tx.query("SELECT pg_advisory_xact_lock(hashtext('kring.import.registrations'))")
        var branches: [String: UUID] = [:]
        for try await (id, name) in try await tx.query("SELECT id, name FROM branches").decode((UUID, String).self) {
            branches[ImportMapping.key(name)] = id
        }
        var state = State(branches: branches)
        var header: Header?
        try await ImportFile.records(first: first, rest: &source, separator: separator) { record in
            guard let columns = header else {
                header = try Header(record, mapping: mapping, encoding: encoding)
                return
            }
            report.rows += 1
            switch columns.read(record, statuses: mapping.statuses, encoding: encoding, today: CalendarDate(now)) {
            case .failure(let error):
                report.reject(line: record.line, column: error.column.flatMap { columns.name(of: $0) }, error.reason)
            case .success(let ticket):
                do {
                    try await apply(ticket, state: &state, report: &report, by: actor, now: now, in: tx)
                } catch let error as RowError {
                    report.reject(line: record.line, column: error.column.flatMap { columns.name(of: $0) }, error.reason)
                }
            }
        }
        guard header != nil else { throw ImportError.unreadable("The file has no header row.") }
        report.unchanged = report.rows - report.rejected - report.inserted - report.updated
        try await TenantAudit.record(
            dryRun ? "import.dry_run" : "import.registrations", subjectType: "import", subjectID: nil, by: actor,
            details: [
                "rows": String(report.rows), "inserted": String(report.inserted), "updated": String(report.updated),
                "rejected": String(report.rejected), "guests_created": String(report.guestsCreated ?? 0),
                "activities_created": String(report.activitiesCreated ?? 0),
            ],
            at: now, in: tx)
        return report
    }

    struct RowError: Error {
        let column: RegistrationMapping.Field?
        let reason: String
    }

    /// One ticket as read and checked.
    struct Ticket {
        var ticketRef: String?
        var activityRef: String?
        var title: String?
        var startsAt: Date?
        var category: String?
        var branch: String?
        var person: CustomerDraft
        var memberNumber: String?
        var priceCents: Int
        var status: Registration.Status
        var registeredAt: Date?
    }

    /// What one import has found or made so far, so that a buyer with five tickets becomes one guest.
    struct State {
        let branches: [String: UUID]
        var activities: [String: UUID] = [:]
        var guests: [String: UUID] = [:]
    }

    private func apply(
        _ ticket: Ticket, state: inout State, report: inout ImportReport, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws {
        let activityID = try await activity(for: ticket, state: &state, report: &report, now: now, in: tx)
        var customerID: UUID?
        if let ref = ticket.ticketRef {
            customerID = try await tx.query(
                """
                SELECT customer_id FROM registrations WHERE activity_id = \(activityID) AND external_ref = \(ref)
                """
            ).decode(UUID.self).reduce(nil) { $0 ?? $1 }
        }
        if customerID == nil, let number = ticket.memberNumber {
            customerID = try await tx.query(
                """
                SELECT id FROM customers WHERE member_number = \(number) AND merged_into IS NULL AND erased_at IS NULL
                """
            ).decode(UUID.self).reduce(nil) { $0 ?? $1 }
        }
        if customerID == nil, let email = ticket.person.email.flatMap(EmailAddress.init)?.value {
            if let guest = state.guests[email] {
                customerID = guest
            } else {
                // A member before a guest, the oldest first: the customer most likely meant.
                customerID = try await tx.query(
                    """
                    SELECT id FROM customers WHERE email = \(email) AND merged_into IS NULL AND erased_at IS NULL
                    ORDER BY member_number IS NULL, created_at, id LIMIT 1
                    """
                ).decode(UUID.self).reduce(nil) { $0 ?? $1 }
            }
        }
        if customerID == nil {
            let email = ticket.person.email.flatMap(EmailAddress.init)?.value
            let erased = try await tx.query(
                """
                SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_sha256 = \(email.map(CustomerPrivacy.emailHash)) AND reason = 'erased')
                    OR EXISTS (SELECT 1 FROM erased_member_numbers
                               WHERE member_number_sha256 = \(ticket.memberNumber.map(CustomerPrivacy.memberNumberHash)))
                """
            ).decode(Bool.self).reduce(false) { $0 || $1 }
            if erased {
                throw RowError(
                    column: ticket.memberNumber != nil ? .memberNumber : .email,
                    reason: "This person was erased from Kring at their request; the ticket is not registered.")
            }
            customerID = try await createGuest(ticket, state: &state, report: &report, by: actor, now: now, in: tx)
        }
        guard let customerID else { return }

        let rows = try await tx.query(
            """
            WITH existing AS (
                SELECT id, status, price_paid_cents, external_ref FROM registrations
                WHERE activity_id = \(activityID) AND customer_id = \(customerID) FOR UPDATE
            ), updated AS (
                UPDATE registrations r SET status = \(ticket.status.rawValue), price_paid_cents = \(ticket.priceCents),
                    external_ref = coalesce(\(ticket.ticketRef), r.external_ref), updated_at = \(now)
                FROM existing e
                WHERE r.id = e.id AND (e.status, e.price_paid_cents) IS DISTINCT FROM (\(ticket.status.rawValue), \(ticket.priceCents))
                RETURNING r.id
            ), inserted AS (
                INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at, external_ref)
                SELECT \(UUID()), \(activityID), \(customerID), \(ticket.status.rawValue), \(ticket.priceCents), 'ticketing',
                       \(ticket.registeredAt ?? now), \(now), \(ticket.ticketRef)
                WHERE NOT EXISTS (SELECT 1 FROM existing)
                RETURNING id
            )
            SELECT (SELECT count(*)::int FROM inserted), (SELECT count(*)::int FROM updated)
            """)
        for try await (inserted, updated) in rows.decode((Int, Int).self) {
            report.inserted += inserted
            report.updated += updated
            guard inserted + updated > 0 else { continue }
            try await TenantAudit.record(
                inserted > 0 ? "registration.created" : "registration.changed", subjectType: "customer",
                subjectID: customerID.uuidString.lowercased(), by: actor,
                details: ["activity": activityID.uuidString.lowercased(), "status": ticket.status.rawValue, "source": "ticketing"],
                at: now, in: tx)
            try await Timeline.recordSystemEvent(
                "registration.\(ticket.status.rawValue)", customerID: customerID, actor: actor,
                subject: activityID.uuidString.lowercased(), at: now, in: tx)
        }
    }

    /// The activity of a ticket: by the ticketing system's event id, else by title on the same day, else a new one.
    private func activity(
        for ticket: Ticket, state: inout State, report: inout ImportReport, now: Date, in tx: TenantTransaction
    ) async throws -> UUID {
        let key =
            ticket.activityRef.map { "ref:" + $0 }
            ?? "title:\(ImportMapping.key(ticket.title ?? ""))@\(ticket.startsAt.map { CalendarDate($0).description } ?? "")"
        if let known = state.activities[key] { return known }
        var found: UUID?
        if let ref = ticket.activityRef {
            found = try await tx.query("SELECT id FROM activities WHERE external_ref = \(ref)").decode(UUID.self).reduce(nil) { $0 ?? $1 }
        }
        if found == nil, let title = ticket.title, let startsAt = ticket.startsAt {
            let day = CalendarDate(startsAt).description
            found = try await tx.query(
                """
                SELECT id FROM activities
                WHERE lower(title) = \(title.lowercased()) AND (starts_at AT TIME ZONE 'Europe/Amsterdam')::date = \(day)::date
                  AND (external_ref IS NULL OR \(ticket.activityRef)::text IS NULL)
                ORDER BY starts_at, id LIMIT 1
                """
            ).decode(UUID.self).reduce(nil) { $0 ?? $1 }
            if let found, let ref = ticket.activityRef {
                try await tx.query("UPDATE activities SET external_ref = \(ref), updated_at = \(now) WHERE id = \(found) AND external_ref IS NULL")
            }
        }
        if found == nil {
            guard let title = ticket.title, let startsAt = ticket.startsAt else {
                throw RowError(
                    column: ticket.activityRef == nil ? .activityTitle : .activityRef,
                    reason: "Unknown activity; give its title and date so that it can be created.")
            }
            var branchID: UUID?
            if let branch = ticket.branch {
                branchID = state.branches[ImportMapping.key(branch)]
                if branchID == nil { throw RowError(column: .branch, reason: "Unknown branch '\(branch)'.") }
            }
            let id = UUID()
            try await tx.query(
                """
                INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, price_cents, external_ref, created_at, updated_at)
                VALUES (\(id), \(title), \(ticket.category ?? "event"), \(branchID), \(startsAt), \(startsAt.addingTimeInterval(Self.defaultDuration)),
                        \(ticket.priceCents), \(ticket.activityRef), \(now), \(now))
                """)
            report.activitiesCreated = (report.activitiesCreated ?? 0) + 1
            found = id
        }
        guard let found else { throw RowError(column: .activityRef, reason: "Unknown activity.") }
        state.activities[key] = found
        return found
    }

    private func createGuest(
        _ ticket: Ticket, state: inout State, report: inout ImportReport, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> UUID {
        let valid: CustomerDraft.Valid
        do {
            valid = try ticket.person.validate(today: CalendarDate(now))
        } catch {
            if case .invalid(let errors) = error, let first = errors.first {
                let field = RegistrationMapping.Field(rawValue: first.field)
                throw RowError(
                    column: field,
                    reason: first.field == "last_name"
                        ? "Give the guest's last name or e-mail address (or a member number Kring knows)." : first.message)
            }
            throw RowError(column: nil, reason: "Invalid guest.")
        }
        let guest = try await Customers.create(valid, by: actor, now: now, in: tx)
        report.guestsCreated = (report.guestsCreated ?? 0) + 1
        if let email = valid.email { state.guests[email] = guest.id }
        return guest.id
    }

    /// The header of a ticketing export: which column holds which field.
    struct Header {
        let names: [String]
        let columns: [RegistrationMapping.Field: Int]

        init(_ record: CSVParser.Record, mapping: RegistrationMapping, encoding: TextEncoding) throws {
            var names: [String] = []
            for index in 0..<record.count {
                guard let name = encoding.decode(record[index]) else {
                    throw ImportError.unreadable("Header column \(index + 1) is not \(encoding.rawValue) text.")
                }
                names.append(name.trimmed())
            }
            let byKey = Dictionary(mapping.columns.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            var columns: [RegistrationMapping.Field: Int] = [:]
            for (index, name) in names.enumerated() {
                if let field = byKey[ImportMapping.key(name)], columns[field] == nil { columns[field] = index }
            }
            guard columns[.activityRef] != nil || columns[.activityTitle] != nil && columns[.activityDate] != nil else {
                throw ImportError.unreadable(
                    "No column maps to activity_ref, nor to activity_title and activity_date; the header has: \(names.joined(separator: ", ")).")
            }
            self.names = names
            self.columns = columns
        }

        func name(of field: RegistrationMapping.Field) -> String? { columns[field].map { names[$0] } }

        func read(_ record: CSVParser.Record, statuses: [String: String], encoding: TextEncoding, today: CalendarDate) -> Result<Ticket, RowError> {
            guard record.count == names.count else {
                return .failure(RowError(column: nil, reason: "The row has \(record.count) fields; the header has \(names.count)."))
            }
            var values: [RegistrationMapping.Field: String] = [:]
            for (field, index) in columns {
                guard let text = encoding.decode(record[index]) else {
                    return .failure(RowError(column: field, reason: "Not \(encoding.rawValue) text."))
                }
                let trimmed = text.trimmed()
                if !trimmed.isEmpty { values[field] = trimmed }
            }
            func fail(_ field: RegistrationMapping.Field, _ reason: String) -> Result<Ticket, RowError> {
                .failure(RowError(column: field, reason: reason))
            }
            var startsAt: Date?
            if let raw = values[.activityDate] {
                guard let moment = Self.moment(raw, time: values[.activityTime]) else {
                    return fail(.activityDate, "Not a date (and time); use DD-MM-YYYY and HH:MM.")
                }
                startsAt = moment
            }
            var registeredAt: Date?
            if let raw = values[.registeredAt] {
                guard let moment = Self.moment(raw, time: nil) else { return fail(.registeredAt, "Not a date; use DD-MM-YYYY (HH:MM).") }
                guard CalendarDate(moment) <= today else { return fail(.registeredAt, "Cannot lie in the future.") }
                registeredAt = moment
            }
            var status = Registration.Status.booked
            if let raw = values[.status] {
                let key = ImportMapping.key(raw)
                guard let known = Registration.Status(rawValue: statuses[key] ?? key) else {
                    return fail(.status, "Unknown status '\(raw)'; map it to booked, attended, no_show, cancelled or waitlisted.")
                }
                status = known
            }
            var cents = 0
            if let raw = values[.price] {
                guard let parsed = RowReader.cents(raw) else { return fail(.price, "Not an amount in euros (e.g. 7,50).") }
                cents = parsed
            }
            if let raw = values[.email], EmailAddress(raw) == nil { return fail(.email, "Not a valid e-mail address.") }
            if values[.activityRef] == nil && (values[.activityTitle] == nil || startsAt == nil) {
                return fail(.activityTitle, "Give the activity's id or its title and date.")
            }
            var person = CustomerDraft(roles: ["guest"])
            person.firstName = values[.firstName]
            person.infix = values[.infix]
            person.lastName = values[.lastName]
            person.email = values[.email]
            person.phone = values[.phone]
            return .success(
                Ticket(
                    ticketRef: values[.ticketRef], activityRef: values[.activityRef], title: values[.activityTitle], startsAt: startsAt,
                    category: values[.activityCategory].map { $0.lowercased() }, branch: values[.branch], person: person,
                    memberNumber: values[.memberNumber], priceCents: cents, status: status, registeredAt: registeredAt))
        }

        /// `25-12-2026`, `2026-12-25`, optionally with ` 14:30` (or the time apart), in Dutch time.
        static func moment(_ raw: String, time: String?) -> Date? {
            var datePart = Substring(raw)
            var timePart = time.map { Substring($0) }
            if let space = raw.firstIndex(where: { $0 == " " || $0 == "T" }) {
                datePart = raw[..<space]
                timePart = timePart ?? raw[raw.index(after: space)...]
            }
            guard let day = CalendarDate(String(datePart)) else { return nil }
            var hour = 0
            var minute = 0
            if let timePart {
                let pieces = timePart.split(separator: ":")
                guard pieces.count >= 2, let h = Int(pieces[0]), let m = Int(pieces[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                    return nil
                }
                hour = h
                minute = m
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = RegistrationImport.timeZone
            return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: hour, minute: minute))
        }
    }
}
