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
        case .unreadable(let reason): .validation([FieldError(field: "file", message: reason)], detail: "The file cannot be imported; nothing was changed.")
        }
    }
}

/// What an import did, or in a dry run would do.
public struct ImportReport: Sendable, Codable, Equatable {
    public struct RowError: Sendable, Codable, Equatable {
        public let line: Int
        public let column: String?
        public let reason: String
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

    public init(dryRun: Bool) {
        self.dryRun = dryRun
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

    public init(mapping: ImportMapping = .defaultMembers, dryRun: Bool = false, markMissingEnded: Bool = false, batchSize: Int = 20_000) {
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
        guard var first = try source.next() else { throw ImportError.unreadable("The file is empty.") }
        if first.starts(with: [0xEF, 0xBB, 0xBF]) {
            first.removeFirst(3)
            report.encoding = .utf8
        }
        let encoding = mapping.encoding ?? report.encoding ?? TextEncoding.detect(first)
        report.encoding = encoding
        let separator = mapping.separator.flatMap { $0.utf8.count == 1 ? $0.utf8.first : nil } ?? CSVParser.detectSeparator(first)
        report.separator = String(UnicodeScalar(separator))

        let branches = try await branchIDs(in: tx)
        try await tx.query("""
            CREATE TEMPORARY TABLE IF NOT EXISTS import_staging (
                member_number text, member_type text, membership_status text, membership_start date, membership_end date,
                end_reason text, subscription_fee_cents int, first_name text, infix text, last_name text, birth_date date, email text,
                phone text, postcode text, house_number text, house_number_addition text, street text, city text, municipality text,
                preferred_language text, favourite_branch_id uuid, genres text[], last_loan_date date, loans_12m int, loans_total int
            ) ON COMMIT DROP
            """)

        var parser = CSVParser(separator: separator)
        var header: RowReader?
        var seen: [String: Int] = [:]
        var batch: [String] = []
        var records: [CSVParser.Record] = []
        let today = CalendarDate(now)
        var chunk: [UInt8]? = first
        var ended = false
        while !ended {
            if let bytes = chunk {
                parser.feed(bytes) { records.append($0) }
                chunk = try source.next()
            } else {
                do {
                    try parser.finish { records.append($0) }
                } catch let error as CSVParser.UnterminatedQuote {
                    throw ImportError.unreadable("A quoted field that starts on line \(error.line) never ends.")
                }
                ended = true
            }
            for record in records {
                guard let reader = header else {
                    header = try RowReader(header: record, mapping: mapping, encoding: encoding)
                    continue
                }
                report.rows += 1
                switch reader.read(record, today: today, branches: branches) {
                case .failure(let error):
                    report.reject(line: record.line, column: error.column, error.reason)
                case .success(let row):
                    if let firstLine = seen[row.memberNumber] {
                        report.reject(line: record.line, column: reader.column(for: .memberNumber),
                                      "Member number \(row.memberNumber) appears again (first on line \(firstLine)).")
                    } else {
                        seen[row.memberNumber] = record.line
                        batch.append(row.copyLine)
                    }
                }
                if batch.count >= batchSize {
                    try await flush(&batch, into: &report, now: now, in: tx)
                    await progress(report.rows)
                }
            }
            records.removeAll(keepingCapacity: true)
        }
        guard header != nil else { throw ImportError.unreadable("The file has no header row.") }
        try await flush(&batch, into: &report, now: now, in: tx)
        report.unchanged = report.rows - report.rejected - report.inserted - report.updated
        try await reportMissing(Array(seen.keys), into: &report, now: now, in: tx)
        try await TenantAudit.record(dryRun ? "import.dry_run" : "import.members", subjectType: "import", subjectID: nil, by: actor,
                                     details: ["rows": String(report.rows), "inserted": String(report.inserted), "updated": String(report.updated),
                                               "rejected": String(report.rejected), "marked_ended": String(report.markedEnded)],
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

    /// COPYs a batch into the staging table and upserts it into customers, households and the timeline.
    private func flush(_ batch: inout [String], into report: inout ImportReport, now: Date, in tx: TenantTransaction) async throws {
        guard !batch.isEmpty else { return }
        let lines = batch
        batch.removeAll(keepingCapacity: true)
        // PostgresNIO quotes the name as one identifier; an unqualified name finds the temporary table first.
        try await tx.connection.copyFrom(table: "import_staging", logger: tx.logger) { writer in
            var buffer = ByteBuffer()
            for line in lines {
                buffer.writeString(line)
                if buffer.readableBytes > 1 << 16 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
        // A temporary table has no statistics until analysed; without them the planner guesses badly.
        try await tx.query("ANALYZE pg_temp.import_staging")
        // A new member number whose e-mail belongs to exactly one guest (and one row of the batch) joins that guest.
        try await tx.query("""
            WITH single_rows AS (
                SELECT min(member_number) AS member_number, email FROM pg_temp.import_staging
                WHERE email IS NOT NULL GROUP BY email HAVING count(*) = 1
            ), candidates AS (
                SELECT r.member_number, r.email FROM single_rows r
                WHERE NOT EXISTS (SELECT 1 FROM customers x WHERE x.member_number = r.member_number)
            ), guests AS (
                SELECT min(c.id::text)::uuid AS id, c.email FROM customers c JOIN candidates USING (email)
                WHERE c.member_number IS NULL AND c.merged_into IS NULL AND c.erased_at IS NULL
                GROUP BY c.email HAVING count(*) = 1
            )
            UPDATE customers c SET member_number = candidates.member_number
            FROM guests JOIN candidates USING (email)
            WHERE c.id = guests.id
            """)
        // Addresses first, so each customer row is written once, with its household.
        try await tx.query("""
            INSERT INTO households (id, postcode, house_number, house_number_addition, created_at)
            SELECT gen_random_uuid(), d.postcode, d.house_number, d.addition, \(now)
            FROM (SELECT DISTINCT postcode, house_number, coalesce(house_number_addition, '') AS addition
                  FROM pg_temp.import_staging WHERE postcode IS NOT NULL AND house_number IS NOT NULL) d
            ON CONFLICT (postcode, house_number, house_number_addition) DO NOTHING
            """)
        let counts = try await tx.query("""
            WITH upserted AS (
                INSERT INTO customers AS c (
                    id, roles, member_number, member_type, membership_status, membership_start, membership_end, end_reason,
                    subscription_fee_cents, first_name, infix, last_name, birth_date, email, phone, postcode, house_number,
                    house_number_addition, street, city, municipality, preferred_language, favourite_branch_id, genres,
                    last_loan_date, loans_12m, loans_total, household_id, created_at, updated_at)
                SELECT gen_random_uuid(), ARRAY['member'], s.member_number, s.member_type, s.membership_status, s.membership_start,
                       s.membership_end, s.end_reason, s.subscription_fee_cents, s.first_name, s.infix, s.last_name, s.birth_date, s.email,
                       s.phone, s.postcode, s.house_number, s.house_number_addition, s.street, s.city, s.municipality,
                       s.preferred_language, s.favourite_branch_id, s.genres, s.last_loan_date, s.loans_12m, s.loans_total, h.id, \(now), \(now)
                FROM pg_temp.import_staging s
                LEFT JOIN households h ON h.postcode = s.postcode AND h.house_number = s.house_number
                                      AND h.house_number_addition = coalesce(s.house_number_addition, '')
                ON CONFLICT (member_number) DO UPDATE SET
                    roles = CASE WHEN 'member' = ANY (c.roles) THEN c.roles ELSE c.roles || ARRAY['member'] END,
                    member_type = EXCLUDED.member_type, membership_status = EXCLUDED.membership_status,
                    membership_start = EXCLUDED.membership_start, membership_end = EXCLUDED.membership_end, end_reason = EXCLUDED.end_reason,
                    subscription_fee_cents = EXCLUDED.subscription_fee_cents, first_name = EXCLUDED.first_name, infix = EXCLUDED.infix,
                    last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date, email = EXCLUDED.email, phone = EXCLUDED.phone,
                    postcode = EXCLUDED.postcode, house_number = EXCLUDED.house_number, house_number_addition = EXCLUDED.house_number_addition,
                    street = EXCLUDED.street, city = EXCLUDED.city, municipality = EXCLUDED.municipality,
                    preferred_language = coalesce(EXCLUDED.preferred_language, c.preferred_language),
                    favourite_branch_id = coalesce(EXCLUDED.favourite_branch_id, c.favourite_branch_id),
                    genres = CASE WHEN cardinality(EXCLUDED.genres) > 0 THEN EXCLUDED.genres ELSE c.genres END,
                    last_loan_date = EXCLUDED.last_loan_date, loans_12m = EXCLUDED.loans_12m, loans_total = EXCLUDED.loans_total,
                    household_id = EXCLUDED.household_id, version = c.version + 1, updated_at = EXCLUDED.updated_at
                WHERE c.merged_into IS NULL AND c.erased_at IS NULL
                  AND (NOT ('member' = ANY (c.roles)), c.member_type, c.membership_status, c.membership_start, c.membership_end, c.end_reason,
                       c.subscription_fee_cents, c.first_name, c.infix, c.last_name, c.birth_date, c.email, c.phone, c.postcode, c.house_number,
                       c.house_number_addition, c.street, c.city, c.municipality,
                       EXCLUDED.preferred_language IS NOT NULL AND c.preferred_language IS DISTINCT FROM EXCLUDED.preferred_language,
                       EXCLUDED.favourite_branch_id IS NOT NULL AND c.favourite_branch_id IS DISTINCT FROM EXCLUDED.favourite_branch_id,
                       cardinality(EXCLUDED.genres) > 0 AND c.genres IS DISTINCT FROM EXCLUDED.genres,
                       c.last_loan_date, c.loans_12m, c.loans_total, c.household_id)
                      IS DISTINCT FROM
                      (false, EXCLUDED.member_type, EXCLUDED.membership_status, EXCLUDED.membership_start, EXCLUDED.membership_end,
                       EXCLUDED.end_reason, EXCLUDED.subscription_fee_cents, EXCLUDED.first_name, EXCLUDED.infix, EXCLUDED.last_name,
                       EXCLUDED.birth_date, EXCLUDED.email, EXCLUDED.phone, EXCLUDED.postcode, EXCLUDED.house_number,
                       EXCLUDED.house_number_addition, EXCLUDED.street, EXCLUDED.city, EXCLUDED.municipality, false, false, false,
                       EXCLUDED.last_loan_date, EXCLUDED.loans_12m, EXCLUDED.loans_total, EXCLUDED.household_id)
                RETURNING c.id, (xmax = 0) AS inserted
            ), events AS (
                INSERT INTO contact_moments (id, customer_id, kind, event, occurred_at, created_at)
                SELECT gen_random_uuid(), id, 'system', CASE WHEN inserted THEN 'import.created' ELSE 'import.updated' END, \(now), \(now)
                FROM upserted
            )
            SELECT count(*) FILTER (WHERE inserted)::int, count(*) FILTER (WHERE NOT inserted)::int FROM upserted
            """)
        for try await (inserted, updated) in counts.decode((Int, Int).self) {
            report.inserted += inserted
            report.updated += updated
        }
        try await tx.query("TRUNCATE pg_temp.import_staging")
    }

    /// Active members in Kring whose number the export does not have: reported, and ended only when asked.
    private func reportMissing(_ present: [String], into report: inout ImportReport, now: Date, in tx: TenantTransaction) async throws {
        let rows = try await tx.query("""
            SELECT member_number FROM customers
            WHERE member_number IS NOT NULL AND membership_status = 'active' AND merged_into IS NULL AND erased_at IS NULL
              AND NOT (member_number = ANY (\(present)))
            ORDER BY member_number
            """)
        var missing: [String] = []
        for try await number in rows.decode(String.self) { missing.append(number) }
        report.missingMembers = missing.count
        report.missingSample = Array(missing.prefix(100))
        guard markMissingEnded, !missing.isEmpty else { return }
        let ended = try await tx.query("""
            UPDATE customers SET membership_status = 'ended', membership_end = coalesce(membership_end, \(CalendarDate(now).description)::date),
                end_reason = coalesce(end_reason, 'missing from the library system export'), version = version + 1, updated_at = \(now)
            WHERE member_number = ANY (\(missing))
            RETURNING id
            """)
        for try await _ in ended { report.markedEnded += 1 }
    }
}
