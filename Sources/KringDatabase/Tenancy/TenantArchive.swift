import Foundation
import KringCore
import Logging
import PostgresNIO

/// One library's schema as a file, and back: backup of one library, a restore after a mistake (under a new slug), and
/// moving a library to another Kring database.
///
/// The file is JSON lines: a header (the library's slug and name, the tenant migrations its schema has, and per table
/// its rows and a checksum), then per table a line naming it and a line per row (`row_to_json`). Everything is read in
/// one repeatable-read snapshot. An import provisions a new library (role, schema, the migrations and their grants),
/// loads the rows as the owner in one transaction, and compares every table's rows and checksum with the header's:
/// any difference and nothing is kept. Platform records (staff memberships, API keys, figures) are not the schema's and
/// do not travel: staff are invited again.
public enum TenantArchive {
    public static let format = "kring-tenant-archive"
    public static let formatVersion = 1

    public struct TableSummary: Sendable, Codable, Equatable {
        public let name: String
        public let rows: Int
        public let checksum: String
    }

    public struct AppliedMigration: Sendable, Codable, Equatable {
        public let version: Int
        public let checksum: String
    }

    public struct Header: Sendable, Codable {
        public let format: String
        public let formatVersion: Int
        public let slug: String
        public let name: String
        public let exportedAt: Date
        public let migrations: [AppliedMigration]
        public let tables: [TableSummary]
    }

    public enum ArchiveError: Error, CustomStringConvertible, Equatable {
        case notAnArchive(String)
        case migrationsDiffer(archive: Int, here: Int)
        case tablesCycle([String])
        case mismatch(table: String, expected: String, found: String)

        public var description: String {
            switch self {
            case .notAnArchive(let reason): "not a Kring library archive: \(reason)"
            case .migrationsDiffer(let archive, let here):
                "the archive's schema has \(archive) tenant migrations and this Kring \(here), or their contents differ: "
                    + "bring both to the same release first"
            case .tablesCycle(let tables): "the tables \(tables.joined(separator: ", ")) refer to each other in a cycle"
            case .mismatch(let table, let expected, let found): "\(table): the archive says \(expected), the import has \(found); nothing was kept"
            }
        }
    }

    /// Tables whose rows follow from other tables' (their triggers rebuild them as those are loaded).
    static let derived: Set<String> = ["consent_state"]

    /// References that statement triggers check instead of foreign keys (tenant migration 0005): the referenced
    /// tables are loaded first all the same.
    static let checkedByTriggers: [String: Set<String>] = ["customers": ["households", "branches"]]

    // MARK: Reading a schema

    /// The schema's tables, referenced ones before those that refer to them.
    static func tables(of schema: SQLIdentifier, on connection: PostgresConnection, logger: Logger) async throws -> [SQLIdentifier] {
        var names: [String] = []
        for try await name in try await connection.query(
            """
            SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema.name) AND c.relkind = 'r' ORDER BY c.relname
            """, logger: logger
        ).decode(String.self) {
            names.append(name)
        }
        var refers = checkedByTriggers.filter { names.contains($0.key) }.mapValues { $0.filter(names.contains) }
        for try await (from, to) in try await connection.query(
            """
            SELECT src.relname::text, dst.relname::text FROM pg_catalog.pg_constraint k
            JOIN pg_catalog.pg_class src ON src.oid = k.conrelid JOIN pg_catalog.pg_class dst ON dst.oid = k.confrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = src.relnamespace
            WHERE k.contype = 'f' AND n.nspname = \(schema.name) AND dst.relnamespace = src.relnamespace AND src.oid <> dst.oid
            """, logger: logger
        ).decode((String, String).self) {
            refers[from, default: []].insert(to)
        }
        var ordered: [String] = []
        var left = names
        while !left.isEmpty {
            let ready = left.filter { refers[$0, default: []].isSubset(of: Set(ordered)) }
            guard !ready.isEmpty else { throw ArchiveError.tablesCycle(left) }
            ordered += ready
            left.removeAll { ready.contains($0) }
        }
        return try ordered.map { name in
            guard let identifier = SQLIdentifier(name) else { throw ArchiveError.notAnArchive("a table named \(name)") }
            return identifier
        }
    }

    /// Rows and checksum of every table (the checksum: MD5 over the rows' JSON, sorted, in UTC).
    static func summaries(
        of schema: SQLIdentifier, tables: [SQLIdentifier], on connection: PostgresConnection, logger: Logger
    ) async throws -> [TableSummary] {
        var summaries: [TableSummary] = []
        for table in tables {
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::int8, coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '')
                        FROM (SELECT row_to_json(t)::text AS r FROM \(schema.quoted).\(table.quoted) t) rows
                        """), logger: logger)
            for try await (count, checksum) in rows.decode((Int, String).self) {
                summaries.append(TableSummary(name: table.name, rows: count, checksum: checksum))
            }
        }
        return summaries
    }

    static func migrations(of schema: SQLIdentifier, on connection: PostgresConnection, logger: Logger) async throws -> [AppliedMigration] {
        var migrations: [AppliedMigration] = []
        for try await (version, checksum) in try await connection.query(
            "SELECT version, checksum FROM platform.schema_migrations WHERE schema_name = \(schema.name) ORDER BY version", logger: logger
        ).decode((Int, String).self) {
            migrations.append(AppliedMigration(version: version, checksum: checksum))
        }
        return migrations
    }

    // MARK: Export

    /// Writes `tenant`'s schema to `file`; answers the header written.
    public static func export(_ tenant: Tenant, to file: URL, owner: Database) async throws -> Header {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let schema = tenant.slug.schema
        return try await owner.withConnection { connection in
            let logger = owner.logger
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            do {
                try await connection.query("SET LOCAL TimeZone = 'UTC'", logger: logger)
                let tables = try await tables(of: schema, on: connection, logger: logger)
                let header = Header(
                    format: format, formatVersion: formatVersion, slug: tenant.slug.value, name: tenant.name, exportedAt: Date(),
                    migrations: try await migrations(of: schema, on: connection, logger: logger),
                    tables: try await summaries(of: schema, tables: tables, on: connection, logger: logger))
                var buffer = String(decoding: try encoder.encode(header), as: UTF8.self) + "\n"
                func flush(_ force: Bool) throws {
                    guard force || buffer.utf8.count > 1 << 20 else { return }
                    try handle.write(contentsOf: Data(buffer.utf8))
                    buffer = ""
                }
                for table in tables where !derived.contains(table.name) {
                    buffer += #"{"table":"\#(table.name)"}"# + "\n"
                    let rows = try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(schema.quoted).\(table.quoted) t"), logger: logger)
                    for try await row in rows.decode(String.self) {
                        buffer += row + "\n"
                        try flush(false)
                    }
                }
                try flush(true)
                try await connection.query("COMMIT", logger: logger)
                return header
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    // MARK: Import

    /// The lines of a file, read a megabyte at a time.
    struct Lines {
        let handle: FileHandle
        var buffer: [UInt8] = []
        var position = 0
        var done = false

        init(handle: FileHandle) { self.handle = handle }

        mutating func next() throws -> String? {
            while true {
                if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[position..<newline], as: UTF8.self)
                    position = newline + 1
                    return line
                }
                if done {
                    guard position < buffer.count else { return nil }
                    defer { position = buffer.count }
                    return String(decoding: buffer[position...], as: UTF8.self)
                }
                // Keep only the unfinished line, then read on.
                buffer.removeFirst(position)
                position = 0
                let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                if chunk.isEmpty { done = true } else { buffer.append(contentsOf: chunk) }
            }
        }
    }

    /// Reads the header of `file`.
    public static func header(of file: URL) throws -> Header {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var lines = Lines(handle: handle)
        return try header(from: &lines)
    }

    static func header(from lines: inout Lines) throws -> Header {
        guard let first = try lines.next() else { throw ArchiveError.notAnArchive("the file is empty") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let header = try? decoder.decode(Header.self, from: Data(first.utf8)), header.format == format else {
            throw ArchiveError.notAnArchive("its first line is not an archive's header")
        }
        guard header.formatVersion == formatVersion else {
            throw ArchiveError.notAnArchive("format version \(header.formatVersion); this Kring reads \(formatVersion)")
        }
        return header
    }

    /// Restores `file` as a new library `slug` (the archive's own when nil) named `name` (the archive's when nil), in
    /// one transaction. Answers the new library and the tables' summaries, equal to the archive's.
    public static func importArchive(
        _ file: URL, as slug: TenantSlug?, name: String?, now: Date, owner: Database, provisioner: TenantProvisioner
    ) async throws -> (tenant: Tenant, tables: [TableSummary]) {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var lines = Lines(handle: handle)
        let header = try header(from: &lines)
        let here = provisioner.migrator.migrations.tenant.map { AppliedMigration(version: $0.version, checksum: $0.checksum) }
        guard header.migrations == here else { throw ArchiveError.migrationsDiffer(archive: header.migrations.count, here: here.count) }
        guard let slug = slug ?? TenantSlug(header.slug) else { throw ArchiveError.notAnArchive("the slug \(header.slug)") }
        let schema = slug.schema
        return try await owner.withPlatform { tx in
            let tenant = try await provisioner.create(slug: slug, name: name ?? header.name, now: now, in: tx)
            let connection = tx.connection
            let logger = tx.logger
            try await tx.query("SET LOCAL TimeZone = 'UTC'")
            let tables = try await tables(of: schema, on: connection, logger: logger)
            // What the migrations put in a new library goes: the archive has the library's own.
            for table in tables.reversed() {
                try await tx.query(PostgresQuery(unsafeSQL: "DELETE FROM \(schema.quoted).\(table.quoted)"))
            }
            var current: SQLIdentifier?
            var rows: [String] = []
            func load() async throws {
                guard let table = current, !rows.isEmpty else { return }
                // One statement per table, so rows that refer to rows of the same table find them.
                var query = PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(schema.quoted).\(table.quoted)
                        SELECT * FROM json_populate_recordset(NULL::\(schema.quoted).\(table.quoted), $1::json)
                        """)
                query.binds.append("[" + rows.joined(separator: ",") + "]")
                try await tx.query(query)
                rows = []
            }
            let known = Set(tables.map(\.name))
            while let line = try lines.next() {
                if line.isEmpty { continue }
                if line.hasPrefix(#"{"table":""#), line.hasSuffix(#""}"#) {
                    try await load()
                    let name = String(line.dropFirst(10).dropLast(2))
                    guard known.contains(name), !derived.contains(name), let table = SQLIdentifier(name) else {
                        throw ArchiveError.notAnArchive("a section for the table \(name), which this schema does not have")
                    }
                    current = table
                } else {
                    guard current != nil else { throw ArchiveError.notAnArchive("rows before a table") }
                    rows.append(line)
                }
            }
            try await load()
            // Serial columns continue after the loaded rows.
            for try await (table, column) in try await tx.query(
                """
                SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
                WHERE c.table_schema = \(schema.name) AND c.column_default LIKE 'nextval(%'
                """
            ).decode((String, String).self) {
                guard let table = SQLIdentifier(table), let column = SQLIdentifier(column) else { continue }
                try await tx.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT setval(pg_get_serial_sequence('\(schema.quoted).\(table.quoted)', '\(column.name)'),
                                          coalesce((SELECT max(\(column.quoted)) FROM \(schema.quoted).\(table.quoted)), 0) + 1, false)
                            """))
            }
            let found = try await summaries(of: schema, tables: tables, on: connection, logger: logger)
            let expected = Dictionary(uniqueKeysWithValues: header.tables.map { ($0.name, $0) })
            for summary in found {
                guard let wanted = expected[summary.name] else {
                    throw ArchiveError.mismatch(table: summary.name, expected: "no such table", found: "\(summary.rows) rows")
                }
                guard wanted == summary else {
                    throw ArchiveError.mismatch(
                        table: summary.name, expected: "\(wanted.rows) rows, checksum \(wanted.checksum)",
                        found: "\(summary.rows) rows, checksum \(summary.checksum)")
                }
            }
            try await PlatformAudit.record(
                AuditEvent(
                    action: "tenant.imported", tenantID: tenant.id, targetType: "tenant", targetID: slug.value,
                    details: [
                        "from_slug": header.slug, "exported_at": header.exportedAt.formatted(.iso8601), "tables": String(found.count),
                        "rows": String(found.reduce(0) { $0 + $1.rows }),
                    ]),
                at: now, in: tx)
            return (tenant, found)
        }
    }

    /// The summaries of a library's tables now (for checking a round trip).
    public static func summaries(of tenant: Tenant, owner: Database) async throws -> [TableSummary] {
        try await owner.withPlatform { tx in
            try await tx.query("SET LOCAL TimeZone = 'UTC'")
            let tables = try await tables(of: tenant.slug.schema, on: tx.connection, logger: tx.logger)
            return try await summaries(of: tenant.slug.schema, tables: tables, on: tx.connection, logger: tx.logger)
        }
    }
}
