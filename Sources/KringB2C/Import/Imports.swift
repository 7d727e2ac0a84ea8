import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// An uploaded import and how far it got.
public struct ImportRun: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case queued, running, done, failed }

    public let id: UUID
    public let kind: String
    public let status: Status
    public let dryRun: Bool
    public let markMissingEnded: Bool
    public let fileBytes: Int
    public let rowsTotal: Int?
    public let rowsDone: Int
    public let report: ImportReport?
    public let error: String?
    public let createdAt: Date
    public let startedAt: Date?
    public let finishedAt: Date?

    static let columns = """
        id, kind, status, dry_run, mark_missing_ended, file_bytes, rows_total, rows_done, report::text, error, created_at, started_at, finished_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        kind = try c[1].decode(String.self)
        status = try c[2].decodeEnum(Status.self)
        dryRun = try c[3].decode(Bool.self)
        markMissingEnded = try c[4].decode(Bool.self)
        fileBytes = try c[5].decode(Int.self)
        rowsTotal = try c[6].decode(Int?.self)
        rowsDone = try c[7].decode(Int.self)
        report = try c[8].decodeJSON(ImportReport?.self)
        error = try c[9].decode(String?.self)
        createdAt = try c[10].decode(Date.self)
        startedAt = try c[11].decode(Date?.self)
        finishedAt = try c[12].decode(Date?.self)
    }
}

/// Imports run as jobs: the upload is stored with the tenant, a worker runs it and keeps the report.
public enum Imports {
    /// The job kind the worker runs; its payload names the tenant's import.
    public static let jobKind = "b2c.import"

    public struct JobPayload: Codable, Sendable {
        public let importID: UUID
        enum CodingKeys: String, CodingKey { case importID = "import_id" }
        public init(importID: UUID) { self.importID = importID }
    }

    /// What an upload holds: the library system's member export or the ticketing system's registrations, or (run by
    /// the relations module through a `Runner`) a list of organisations or contacts.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case members, registrations, organisations, contacts
    }

    /// Runs an import of a kind another module owns: given the import and its library, its file and its column mapping
    /// (JSON), and a callback for the rows done, it returns the report or throws `ImportError` for a file it cannot read.
    public typealias Runner =
        @Sendable (
            _ run: ImportRun, _ tenant: Tenant, _ file: [UInt8], _ mapping: String?, _ progress: @escaping @Sendable (Int) async -> Void
        ) async throws -> ImportReport

    /// A column mapping for `kind`, checked; nil when `json` is nil.
    public static func mappingJSON(_ json: String?, for kind: Kind) throws -> String? {
        guard let json else { return nil }
        let data = Data(json.utf8)
        do {
            switch kind {
            case .members: _ = try JSONDecoder().decode(ImportMapping.self, from: data)
            case .registrations: _ = try JSONDecoder().decode(RegistrationMapping.self, from: data)
            case .organisations, .contacts:
                // The relations module checks its own mapping before the upload is stored; here only that it is an object.
                guard try JSONSerialization.jsonObject(with: data) is [String: Any] else { throw ImportError.unreadable("") }
            }
        } catch {
            throw ImportError.unreadable("Not a valid \(kind.rawValue) column mapping (see Deploy/mappings/\(kind.rawValue)-default.json).")
        }
        return json
    }

    public static func create(
        kind: Kind = .members, file: [UInt8], mappingJSON: String?, dryRun: Bool, markMissingEnded: Bool, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> ImportRun {
        guard !file.isEmpty else { throw ImportError.unreadable("The file is empty.") }
        let mapping = try Self.mappingJSON(mappingJSON, for: kind)
        try await dropStaleDryRunFiles(now: now, in: tx)
        let rows = try await tx.query(
            """
            INSERT INTO imports (id, kind, status, dry_run, mark_missing_ended, mapping, file, file_bytes, created_by_user_id, created_by_api_key_id, created_at)
            VALUES (\(UUID()), \(kind.rawValue), 'queued', \(dryRun), \(markMissingEnded), \(mapping)::jsonb, \(Data(file)), \(file.count),
                    \(actor.userID), \(actor.apiKeyID), \(now))
            RETURNING \(unescaped: ImportRun.columns)
            """)
        for try await row in rows {
            let run = try ImportRun(row: row)
            try await TenantAudit.record(
                "import.uploaded", subjectType: "import", subjectID: run.id.uuidString.lowercased(), by: actor,
                details: ["bytes": String(file.count), "dry_run": String(dryRun)], at: now, in: tx)
            return run
        }
        throw NoRowReturned()
    }

    public static func find(_ id: UUID, in tx: TenantTransaction) async throws -> ImportRun? {
        let rows = try await tx.query("SELECT \(unescaped: ImportRun.columns) FROM imports WHERE id = \(id)")
        for try await row in rows { return try ImportRun(row: row) }
        return nil
    }

    public static func markFailed(_ id: UUID, error: String, now: Date, in tx: TenantTransaction) async throws {
        try await tx.query("UPDATE imports SET status = 'failed', error = \(error), file = NULL, finished_at = \(now) WHERE id = \(id)")
    }

    /// How long a dry run's file is kept for its confirmation (or a second dry run after fixing branches).
    public static let dryRunKeep: TimeInterval = 24 * 3600

    /// A new import of a dry run's file: the real one (`dryRun` false), or another dry run (after branches were added).
    /// The dry run's file goes with it; nil when the dry run is unknown, not done, or older than `dryRunKeep`.
    public static func again(dryRunID: UUID, dryRun: Bool, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> ImportRun? {
        // Locked first, so two clicks at once cannot both take the file: the second finds it gone.
        try await tx.query("SELECT 1 FROM imports WHERE id = \(dryRunID) FOR UPDATE")
        let rows = try await tx.query(
            """
            INSERT INTO imports (id, kind, status, dry_run, mark_missing_ended, mapping, file, file_bytes, created_by_user_id, created_by_api_key_id, created_at)
            SELECT \(UUID()), kind, 'queued', \(dryRun), mark_missing_ended, mapping, file, file_bytes, \(actor.userID), \(actor.apiKeyID), \(now)
            FROM imports WHERE id = \(dryRunID) AND dry_run AND status = 'done' AND file IS NOT NULL AND created_at > \(now.addingTimeInterval(-dryRunKeep))
            RETURNING \(unescaped: ImportRun.columns)
            """)
        for try await row in rows {
            let run = try ImportRun(row: row)
            try await tx.query("UPDATE imports SET file = NULL WHERE id = \(dryRunID)")
            try await TenantAudit.record(
                "import.uploaded", subjectType: "import", subjectID: run.id.uuidString.lowercased(), by: actor,
                details: ["bytes": String(run.fileBytes), "dry_run": String(dryRun), "from": dryRunID.uuidString.lowercased()],
                at: now, in: tx)
            return run
        }
        return nil
    }

    /// Whether the import still holds its file (a dry run that can be confirmed or run again).
    public static func keepsFile(_ id: UUID, in tx: TenantTransaction) async throws -> Bool {
        try await tx.query("SELECT file IS NOT NULL FROM imports WHERE id = \(id)").decode(Bool.self).first { _ in true } ?? false
    }

    /// Drops the files of dry runs nobody confirmed within `dryRunKeep`.
    public static func dropStaleDryRunFiles(now: Date, in tx: TenantTransaction) async throws {
        try await tx.query(
            """
            UPDATE imports SET file = NULL WHERE dry_run AND file IS NOT NULL AND status IN ('done', 'failed')
              AND created_at <= \(now.addingTimeInterval(-dryRunKeep))
            """)
    }

    /// Runs a queued import of `tenant` (the worker's job). The file is dropped once the import ran (data minimisation);
    /// a dry run keeps it for a day, so that it can be confirmed without uploading it again.
    /// `runners` run the kinds of other modules; a kind without a runner fails the import.
    public static func run(
        importID: UUID, tenant: Tenant, db: Database, now: @escaping @Sendable () -> Date, runners: [Kind: Runner] = [:]
    ) async throws {
        let claimed: (ImportRun, [UInt8], String?)? = try await db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                """
                UPDATE imports SET status = 'running', started_at = \(now()), rows_done = 0
                WHERE id = \(importID) AND status IN ('queued', 'running') AND file IS NOT NULL
                RETURNING \(unescaped: ImportRun.columns), file, mapping::text
                """)
            for try await row in rows {
                let c = row.makeRandomAccess()
                return (try ImportRun(row: row), Array(try c[13].decode(Data.self)), try c[14].decode(String?.self))
            }
            return nil
        }
        guard let (run, file, mapping) = claimed else { return }
        let total = countRecords(file)
        try await db.withTenant(tenant) { tx in
            try await tx.query("UPDATE imports SET rows_total = \(total) WHERE id = \(importID)")
        }
        let actor = AuditActor(userID: nil, apiKeyID: nil)
        let progress: @Sendable (Int) async -> Void = { done in
            _ = try? await db.withTenant(tenant) { tx in
                try await tx.query("UPDATE imports SET rows_done = \(done) WHERE id = \(importID)")
            }
        }
        do {
            let report: ImportReport
            switch try UnreadableColumn.enumValue(Kind.self, run.kind, column: "kind") {
            case .members:
                let columns = try mapping.map { try UnreadableColumn.json(ImportMapping.self, $0, column: "mapping") } ?? .defaultMembers
                let importer = MemberImport(mapping: columns, dryRun: run.dryRun, markMissingEnded: run.markMissingEnded)
                report = try await importer.run(BytesImportSource(file), by: actor, now: now(), db: db, tenant: tenant, progress: progress)
            case .registrations:
                let columns = try mapping.map { try UnreadableColumn.json(RegistrationMapping.self, $0, column: "mapping") } ?? .defaultRegistrations
                report = try await RegistrationImport(mapping: columns, dryRun: run.dryRun)
                    .run(BytesImportSource(file), by: actor, now: now(), db: db, tenant: tenant)
            case let kind:
                guard let runner = runners[kind] else { throw ImportError.unreadable("This worker cannot run \(kind.rawValue) imports.") }
                report = try await runner(run, tenant, file, mapping, progress)
            }
            let reportJSON = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            try await db.withTenant(tenant) { tx in
                try await tx.query(
                    """
                    UPDATE imports SET status = 'done', report = \(reportJSON)::jsonb, rows_done = \(report.rows),
                           file = CASE WHEN dry_run THEN file END, finished_at = \(now())
                    WHERE id = \(importID)
                    """)
            }
        } catch let error as ImportError {
            try await db.withTenant(tenant) { tx in
                try await markFailed(importID, error: error.problem.errors?.first?.message ?? "unreadable", now: now(), in: tx)
            }
        }
    }

    /// Records in a file minus its header, for progress.
    static func countRecords(_ bytes: [UInt8]) -> Int {
        var parser = CSVParser(separator: CSVParser.detectSeparator(bytes.prefix(65_536)))
        var count = 0
        parser.feed(bytes) { _ in count += 1 }
        try? parser.finish { _ in count += 1 }
        return max(0, count - 1)
    }
}
