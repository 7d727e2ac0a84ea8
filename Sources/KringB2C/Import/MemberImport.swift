import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Where an import reads its bytes from, a chunk at a time.
public protocol ImportSource: Sendable {
    /// The next chunk, or nil at the end.
    mutating func next() throws -> [UInt8]?
}

/// A file read in 1 MiB chunks.
public struct FileImportSource: ImportSource {
    private let handle: FileHandle
    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ImportError.unreadable("cannot open \(path)") }
        self.handle = handle
    }
    public mutating func next() throws -> [UInt8]? {
        let data = try handle.read(upToCount: 1 << 20) ?? Data()
        return data.isEmpty ? nil : Array(data)
    }
}

/// Bytes already in memory (an upload kept in the database), handed out in 1 MiB slices.
public struct BytesImportSource: ImportSource {
    private let bytes: [UInt8]
    private var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public mutating func next() throws -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        let end = min(bytes.count, offset + (1 << 20))
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

public enum ImportError: Error, ProblemConvertible, Equatable {
    /// The file as a whole cannot be read: nothing was changed.
    case unreadable(String)

    public var problem: Problem {
        switch self {
        case .unreadable(let reason):
            .validation([FieldError(field: "file", message: reason)], detail: "The file cannot be imported; nothing was changed.")
        }
    }
}

/// What every CSV import does first and throughout: strip a BOM, settle encoding and separator, hand out records.
enum ImportFile {
    /// Reads the first chunk and decides the encoding (the mapping's, else the BOM's, else detected) and separator.
    static func open(
        _ source: inout some ImportSource, encoding: TextEncoding?, separator: String?, into report: inout ImportReport
    ) throws -> (first: [UInt8], encoding: TextEncoding, separator: UInt8) {
        guard var first = try source.next() else { throw ImportError.unreadable("The file is empty.") }
        let layout = CSVLayout(start: &first, encoding: encoding, separator: separator)
        report.encoding = layout.encoding
        report.separator = layout.separatorText
        return (first, layout.encoding, layout.separator)
    }

    /// Every record of the file, header first, in order.
    static func records(
        first: [UInt8], rest source: inout some ImportSource, separator: UInt8, _ body: (CSVParser.Record) async throws -> Void
    ) async throws {
        var parser = CSVParser(separator: separator)
        var records: [CSVParser.Record] = []
        var chunk: [UInt8]? = first
        var ended = false
        while !ended {
            if let bytes = chunk {
                parser.feed(bytes) { records.append($0) }
                chunk = try source.next()
            } else {
                try finish(&parser) { records.append($0) }
                ended = true
            }
            for record in records { try await body(record) }
            records.removeAll(keepingCapacity: true)
        }
    }

    static func finish(_ parser: inout CSVParser, emit: (CSVParser.Record) -> Void) throws {
        do {
            try parser.finish(emit: emit)
        } catch let error as CSVParser.UnterminatedQuote {
            throw ImportError.unreadable("A quoted field that starts on line \(error.line) never ends.")
        }
    }
}

/// What an import did, or in a dry run would do.
public struct ImportReport: Sendable, Codable, Equatable {
    public struct RowError: Sendable, Codable, Equatable {
        public let line: Int
        public let column: String?
        public let reason: String

        public init(line: Int, column: String?, reason: String) {
            self.line = line
            self.column = column
            self.reason = reason
        }
    }

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
    /// Active members in Kring that the export left out (a full export only).
    public var missingMembers = 0
    public var missingSample: [String] = []
    public var markedEnded = 0
    /// Ticketing imports: customers created as activity guests, and activities created from tickets.
    public var guestsCreated: Int?
    public var activitiesCreated: Int?

    public init(dryRun: Bool) {
        self.dryRun = dryRun
    }

    /// The branch names the export uses that the library does not have (from the rows refused for it), in order of first use.
    public var unknownBranches: [String] {
        var seen: [String] = []
        for error in errors {
            guard error.reason.hasPrefix("Unknown branch '"), error.reason.hasSuffix("'.") else { continue }
            let name = String(error.reason.dropFirst("Unknown branch '".count).dropLast(2))
            if !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    mutating func add(_ counts: MemberImport.FlushCounts) {
        inserted += counts.inserted
        updated += counts.updated
    }

    mutating func reject(line: Int, column: String?, _ reason: String) {
        rejected += 1
        if errors.count < 1000 { errors.append(RowError(line: line, column: column, reason: reason)) }
    }
}

/// Imports a member export: upsert by member number (then by e-mail for a single matching guest), every row
/// validated on its own, bad rows reported with line, column and reason. Re-importing the same file changes
/// nothing. Valid rows go to PostgreSQL with COPY into a temporary table, then one upsert per batch.
public struct MemberImport: Sendable {
    public var mapping: ImportMapping
    public var dryRun: Bool
    /// Mark active members missing from this (full) export as ended.
    public var markMissingEnded: Bool
    public var batchSize: Int

    public init(mapping: ImportMapping = .defaultMembers, dryRun: Bool = false, markMissingEnded: Bool = false, batchSize: Int = 5_000) {
        self.mapping = mapping
        self.dryRun = dryRun
        self.markMissingEnded = markMissingEnded
        self.batchSize = batchSize
    }

    /// Thrown to roll back a dry run after its report is complete.
    struct DryRunFinished: Error { let report: ImportReport }

    /// Runs the import in one transaction of the tenant. `progress` hears the rows handled so far after each batch.
    public func run(
        _ source: some ImportSource, by actor: AuditActor, now: Date, db: Database, tenant: Tenant,
        progress: @Sendable (Int) async -> Void = { _ in }
    ) async throws -> ImportReport {
        var source = source
        do {
            return try await db.withTenant(tenant) { tx in
                let report = try await run(&source, by: actor, now: now, in: tx, progress: progress)
                if dryRun { throw DryRunFinished(report: report) }
                return report
            }
        } catch let finished as DryRunFinished {
            return finished.report
        }
    }

    func run(
        _ source: inout some ImportSource, by actor: AuditActor, now: Date, in tx: TenantTransaction, progress: @Sendable (Int) async -> Void
    ) async throws -> ImportReport {
        var report = ImportReport(dryRun: dryRun)
        let (first, encoding, separator) = try ImportFile.open(&source, encoding: mapping.encoding, separator: mapping.separator, into: &report)

        // One import of a tenant at a time; staff keep working meanwhile.
        try await tx.query("SELECT pg_advisory_xact_lock(hashtext('kring.import.members'))")
        let branches = try await branchIDs(in: tx)
        var held = try await HeldData.load(in: tx)
        var erased = Set<Data>()
        for try await hash in try await tx.query("SELECT member_number_sha256 FROM erased_member_numbers").decode(Data.self) { erased.insert(hash) }
        let activeBefore = held.customers.compactMap { $0.value.active && $0.value.writable ? $0.key : nil }
        try await tx.query(
            """
            CREATE TEMPORARY TABLE IF NOT EXISTS import_staging (\(unescaped: Self.stagingColumns)) ON COMMIT DROP
            """)

        var parser = CSVParser(separator: separator)
        var header: RowReader?
        var seen: [String: Int] = [:]
        var batch = Batch(now: now)
        var records: [CSVParser.Record] = []
        let today = CalendarDate(now)
        var chunk: [UInt8]? = first
        var ended = false
        // One batch is written while the next is read: PostgreSQL and this process each keep a core busy.
        var writing: Task<FlushCounts, any Error>?
        var flushes = 0
        do {
            while !ended {
                if let bytes = chunk {
                    parser.feed(bytes) { records.append($0) }
                    chunk = try source.next()
                } else {
                    try ImportFile.finish(&parser) { records.append($0) }
                    ended = true
                }
                for record in records {
                    guard let reader = header else {
                        header = try RowReader(header: record, mapping: mapping, encoding: encoding, branches: branches)
                        continue
                    }
                    report.rows += 1
                    // A row exactly as last imported (same mapping, nothing changed in Kring since) needs no work,
                    // and neither does a member Kring merged away or erased.
                    if let number = reader.memberNumber(of: record), let known = held.customers[number],
                        !known.writable || known.fingerprint == reader.fingerprint(of: record)
                    {
                        if let firstLine = seen[number] {
                            report.reject(
                                line: record.line, column: reader.column(for: .memberNumber),
                                "Member number \(number) appears again (first on line \(firstLine)).")
                        } else {
                            seen[number] = record.line
                        }
                        continue
                    }
                    switch reader.read(record, today: today, branches: branches) {
                    case .failure(let error):
                        report.reject(line: record.line, column: error.column, error.reason)
                    case .success(let row)
                    where !erased.isEmpty && held.customers[row.memberNumber] == nil
                        && erased.contains(CustomerPrivacy.memberNumberHash(row.memberNumber)):
                        report.reject(
                            line: record.line, column: reader.column(for: .memberNumber),
                            "Member \(row.memberNumber) was erased from Kring at their request and is not imported again.")
                    case .success(let row):
                        if let firstLine = seen[row.memberNumber] {
                            report.reject(
                                line: record.line, column: reader.column(for: .memberNumber),
                                "Member number \(row.memberNumber) appears again (first on line \(firstLine)).")
                        } else {
                            seen[row.memberNumber] = record.line
                            batch.add(row, held: &held)
                        }
                    }
                    // The first batches are small, so that the database has work while the rest is read.
                    if batch.count >= min(batchSize, 500 << min(flushes, 8)) {
                        flushes += 1
                        if let previous = writing { report.add(try await previous.value) }
                        let full = batch
                        batch = Batch(now: now)
                        writing = Task { try await flush(full, now: now, in: tx) }
                        await progress(report.rows)
                    }
                }
                records.removeAll(keepingCapacity: true)
            }
        } catch {
            // The transaction must outlive every statement it started.
            _ = try? await writing?.value
            throw error
        }
        if let previous = writing { report.add(try await previous.value) }
        guard header != nil else { throw ImportError.unreadable("The file has no header row.") }
        report.add(try await flush(batch, now: now, in: tx))
        report.unchanged = report.rows - report.rejected - report.inserted - report.updated
        try await reportMissing(activeBefore.filter { seen[$0] == nil }.sorted(), into: &report, now: now, in: tx)
        try await TenantAudit.record(
            dryRun ? "import.dry_run" : "import.members", subjectType: "import", subjectID: nil, by: actor,
            details: [
                "rows": String(report.rows), "inserted": String(report.inserted), "updated": String(report.updated),
                "rejected": String(report.rejected), "marked_ended": String(report.markedEnded),
            ],
            at: now, in: tx)
        await progress(report.rows)
        return report
    }

    private func branchIDs(in tx: TenantTransaction) async throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        for try await (id, name) in try await tx.query("SELECT id, name FROM branches").decode((UUID, String).self) {
            ids[ImportMapping.key(name)] = id
        }
        return ids
    }

    /// What the tenant holds already, read once per import, so that every row is routed without asking the database.
    struct HeldData {
        struct Known {
            let id: UUID
            /// The fingerprint of the export row the customer was last imported from, if nothing changed since.
            let fingerprint: Int64?
            /// False for a customer merged into another or erased: the import leaves those alone.
            let writable: Bool
            /// An active member when the import began.
            var active = false
        }

        /// Member number -> customer.
        var customers: [String: Known] = [:]
        /// E-mail -> the one guest (no member number) with it; nil when several guests share it.
        var guests: [String: UUID?] = [:]
        /// `postcode|number|addition` -> household.
        var households: [String: UUID] = [:]

        static func load(in tx: TenantTransaction) async throws -> HeldData {
            var held = HeldData()
            let customers = try await tx.query(
                """
                SELECT member_number, id, import_hash, merged_into IS NULL AND erased_at IS NULL, membership_status IS NOT DISTINCT FROM 'active'
                FROM customers WHERE member_number IS NOT NULL
                """)
            for try await (number, id, hash, writable, active) in customers.decode((String, UUID, Int64?, Bool, Bool).self) {
                held.customers[number] = Known(id: id, fingerprint: hash, writable: writable, active: active)
            }
            let guests = try await tx.query(
                """
                SELECT email, id FROM customers
                WHERE member_number IS NULL AND email IS NOT NULL AND merged_into IS NULL AND erased_at IS NULL
                """)
            for try await (email, id) in guests.decode((String, UUID).self) {
                held.guests[email] = held.guests[email] == nil ? id : .some(nil)
            }
            let households = try await tx.query("SELECT postcode, house_number, house_number_addition, id FROM households")
            for try await (postcode, number, addition, id) in households.decode((String, String, String, UUID).self) {
                held.households[addressKey(postcode, number, addition)] = id
            }
            return held
        }

        static func addressKey(_ postcode: String, _ number: String, _ addition: String?) -> String {
            postcode + "|" + number + "|" + (addition ?? "")
        }
    }

    /// The columns of one customer row as the import writes it: the order of every COPY line, into `customers` and
    /// into the staging table alike.
    static let customerColumns = [
        "id", "roles", "member_number", "member_type", "membership_status", "membership_start", "membership_end", "end_reason",
        "subscription_fee_cents", "first_name", "infix", "last_name", "birth_date", "email", "phone", "postcode", "house_number",
        "house_number_addition", "street", "city", "municipality", "preferred_language", "favourite_branch_id", "genres",
        "last_loan_date", "loans_12m", "loans_total", "household_id", "import_hash", "created_at", "updated_at",
    ]
    static let stagingColumns = """
        id uuid, roles text[], member_number text COLLATE "C", member_type text, membership_status text, membership_start date,
        membership_end date, end_reason text, subscription_fee_cents int, first_name text, infix text, last_name text, birth_date date,
        email text COLLATE "C", phone text, postcode text COLLATE "C", house_number text, house_number_addition text, street text, city text, municipality text,
        preferred_language text, favourite_branch_id uuid, genres text[], last_loan_date date, loans_12m int, loans_total int,
        household_id uuid, import_hash bigint, created_at timestamptz, updated_at timestamptz
        """

    /// Rows waiting to be written, already as COPY lines: new households, new customers, and customers Kring has
    /// whose data are compared in SQL.
    struct Batch: Sendable {
        var households: [[UInt8]] = []
        var newCustomers: [[UInt8]] = []
        var heldCustomers: [[UInt8]] = []
        var count: Int { newCustomers.count + heldCustomers.count }
        private let timestamp: String
        private var ids = TimeOrderedUUIDs()

        init(now: Date) {
            timestamp = now.formatted(
                .iso8601.year().month().day().timeZone(separator: .omitted).time(includingFractionalSeconds: true)
                    .timeSeparator(.colon).dateSeparator(.dash).dateTimeSeparator(.standard))
        }

        mutating func add(_ row: RowReader.Row, held: inout HeldData) {
            let valid = row.valid
            var household: UUID?
            if let postcode = valid.postcode, let number = valid.houseNumber {
                let key = HeldData.addressKey(postcode, number, valid.houseNumberAddition)
                if let id = held.households[key] {
                    household = id
                } else {
                    let id = ids.next()
                    held.households[key] = id
                    household = id
                    var line = CopyLine()
                    line.append(id)
                    line.append(postcode)
                    line.append(number)
                    line.append(valid.houseNumberAddition ?? "")
                    line.append(timestamp)
                    households.append(line.finish())
                }
            }
            // A new member number whose e-mail belongs to exactly one guest becomes that guest's.
            var id: UUID
            var isNew = false
            if let known = held.customers[row.memberNumber] {
                id = known.id
            } else if let email = valid.email, let guest = held.guests[email] ?? nil {
                id = guest
                held.guests[email] = .some(nil)
            } else {
                id = ids.next()
                isNew = true
            }
            held.customers[row.memberNumber] = HeldData.Known(id: id, fingerprint: row.fingerprint, writable: true)

            var line = CopyLine()
            line.append(id)
            line.append("{member}")
            line.append(row.memberNumber)
            line.append(valid.memberType)
            line.append(valid.membershipStatus)
            line.append(valid.membershipStart?.description)
            line.append(valid.membershipEnd?.description)
            line.append(valid.endReason)
            line.append(valid.subscriptionFeeCents.map(String.init))
            line.append(valid.firstName)
            line.append(valid.infix)
            line.append(valid.lastName)
            line.append(valid.birthDate?.description)
            line.append(valid.email)
            line.append(valid.phone)
            line.append(valid.postcode)
            line.append(valid.houseNumber)
            line.append(valid.houseNumberAddition)
            line.append(valid.street)
            line.append(valid.city)
            line.append(valid.municipality)
            line.append(valid.preferredLanguage)
            line.append(row.favouriteBranchID)
            line.append(RowReader.arrayLiteral(valid.genres))
            line.append(row.lastLoanDate?.description)
            line.append(String(row.loans12m))
            line.append(String(row.loansTotal))
            line.append(household)
            line.append(String(row.fingerprint))
            line.append(timestamp)
            line.append(timestamp)
            if isNew { newCustomers.append(line.finish()) } else { heldCustomers.append(line.finish()) }
        }
    }

    struct FlushCounts: Sendable {
        var inserted = 0
        var updated = 0
    }

    /// Writes a batch: new households and new customers straight into their tables with COPY; customers Kring has
    /// through the staging table, changed only where their data differ.
    private func flush(_ batch: Batch, now: Date, in tx: TenantTransaction) async throws -> FlushCounts {
        var counts = FlushCounts()
        try await copy(
            batch.households, into: "households", columns: ["id", "postcode", "house_number", "house_number_addition", "created_at"], in: tx)
        try await copy(batch.newCustomers, into: "customers", columns: Self.customerColumns, in: tx)
        counts.inserted = batch.newCustomers.count
        guard !batch.heldCustomers.isEmpty else { return counts }
        try await copy(batch.heldCustomers, into: "import_staging", columns: [], in: tx)
        // Customers whose data differ: written, versioned, and noted on their timeline.
        let changed = try await tx.query(
            """
            WITH updated AS (
                UPDATE customers c SET
                    roles = CASE WHEN 'member' = ANY (c.roles) THEN c.roles ELSE c.roles || ARRAY['member'] END,
                    member_number = s.member_number, member_type = s.member_type, membership_status = s.membership_status,
                    membership_start = s.membership_start, membership_end = s.membership_end, end_reason = s.end_reason,
                    subscription_fee_cents = s.subscription_fee_cents, first_name = s.first_name, infix = s.infix,
                    last_name = s.last_name, birth_date = s.birth_date, email = s.email, phone = s.phone,
                    postcode = s.postcode, house_number = s.house_number, house_number_addition = s.house_number_addition,
                    street = s.street, city = s.city, municipality = s.municipality,
                    preferred_language = coalesce(s.preferred_language, c.preferred_language),
                    favourite_branch_id = coalesce(s.favourite_branch_id, c.favourite_branch_id),
                    genres = CASE WHEN cardinality(s.genres) > 0 THEN s.genres ELSE c.genres END,
                    last_loan_date = s.last_loan_date, loans_12m = s.loans_12m, loans_total = s.loans_total,
                    household_id = s.household_id, import_hash = s.import_hash, version = c.version + 1, updated_at = \(now)
                FROM pg_temp.import_staging s
                WHERE c.id = s.id AND c.merged_into IS NULL AND c.erased_at IS NULL AND \(unescaped: Self.differs)
                RETURNING c.id
            ), events AS (
                INSERT INTO contact_moments (id, customer_id, kind, event, occurred_at, created_at)
                SELECT gen_random_uuid(), id, 'system', 'import.updated', \(now), \(now) FROM updated
            )
            SELECT count(*)::int FROM updated
            """)
        for try await count in changed.decode(Int.self) { counts.updated = count }
        // The same data under a new fingerprint (another mapping, a first import since staff edited): remember it.
        try await tx.query(
            """
            UPDATE customers c SET import_hash = s.import_hash
            FROM pg_temp.import_staging s
            WHERE c.id = s.id AND c.merged_into IS NULL AND c.erased_at IS NULL
              AND c.import_hash IS DISTINCT FROM s.import_hash AND NOT \(unescaped: Self.differs)
            """)
        try await tx.query("TRUNCATE pg_temp.import_staging")
        return counts
    }

    private func copy(_ lines: [[UInt8]], into table: String, columns: [String], in tx: TenantTransaction) async throws {
        guard !lines.isEmpty else { return }
        // PostgresNIO quotes the name as one identifier: unqualified, it finds the tenant's table or the temporary one.
        try await tx.connection.copyFrom(table: table, columns: columns, logger: tx.logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(1 << 17)
            for line in lines {
                buffer.writeBytes(line)
                if buffer.readableBytes > 1 << 16 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }

    /// True when the customer `c` differs from the incoming row `s` in anything the import writes.
    private static let differs = """
        (NOT ('member' = ANY (c.roles)), c.member_number, c.member_type, c.membership_status, c.membership_start, c.membership_end,
         c.end_reason, c.subscription_fee_cents, c.first_name, c.infix, c.last_name, c.birth_date, c.email, c.phone, c.postcode,
         c.house_number, c.house_number_addition, c.street, c.city, c.municipality,
         s.preferred_language IS NOT NULL AND c.preferred_language IS DISTINCT FROM s.preferred_language,
         s.favourite_branch_id IS NOT NULL AND c.favourite_branch_id IS DISTINCT FROM s.favourite_branch_id,
         cardinality(s.genres) > 0 AND c.genres IS DISTINCT FROM s.genres,
         c.last_loan_date, c.loans_12m, c.loans_total, c.household_id)
        IS DISTINCT FROM
        (false, s.member_number, s.member_type, s.membership_status, s.membership_start, s.membership_end,
         s.end_reason, s.subscription_fee_cents, s.first_name, s.infix, s.last_name,
         s.birth_date, s.email, s.phone, s.postcode, s.house_number,
         s.house_number_addition, s.street, s.city, s.municipality, false, false, false,
         s.last_loan_date, s.loans_12m, s.loans_total, s.household_id)
        """

    /// Active members in Kring whose number the export does not have (`missing`, in order): reported, and ended only
    /// when asked.
    private func reportMissing(_ missing: [String], into report: inout ImportReport, now: Date, in tx: TenantTransaction) async throws {
        report.missingMembers = missing.count
        report.missingSample = Array(missing.prefix(100))
        guard markMissingEnded, !missing.isEmpty else { return }
        let ended = try await tx.query(
            """
            UPDATE customers SET membership_status = 'ended', membership_end = coalesce(membership_end, \(CalendarDate(now).description)::date),
                end_reason = coalesce(end_reason, 'missing from the library system export'), version = version + 1, updated_at = \(now)
            WHERE member_number = ANY (\(missing))
            RETURNING id
            """)
        for try await _ in ended { report.markedEnded += 1 }
    }
}
