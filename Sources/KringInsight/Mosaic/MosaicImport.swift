import Crypto
import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Which column of the supplier's files holds what. Any column of the scheme file that is not mapped is kept as a
/// characteristic of the subsegment (media use, leisure, ...), under its header.
public struct MosaicMapping: Sendable, Codable, Equatable {
    public enum Field: String, Sendable, Codable, CaseIterable {
        case segmentCode = "segment_code"
        case segmentName = "segment_name"
        case segmentDescription = "segment_description"
        case subsegmentCode = "subsegment_code"
        case subsegmentName = "subsegment_name"
        case subsegmentDescription = "subsegment_description"
        case postcode, municipality, households, inhabitants
    }

    /// Header (case and spaces ignored) -> field.
    public var columns: [String: Field]
    public var encoding: TextEncoding?
    public var separator: String?

    public init(columns: [String: Field], encoding: TextEncoding? = nil, separator: String? = nil) {
        self.columns = columns
        self.encoding = encoding
        self.separator = separator
    }

    /// Dutch headers, as the demo's generated files have them.
    public static let standard = MosaicMapping(columns: [
        "Segment": .segmentCode, "Segmentcode": .segmentCode, "Segmentnaam": .segmentName, "Segmentomschrijving": .segmentDescription,
        "Subsegment": .subsegmentCode, "Subsegmentcode": .subsegmentCode, "Type": .subsegmentCode, "Subsegmentnaam": .subsegmentName,
        "Subsegmentomschrijving": .subsegmentDescription, "Postcode": .postcode, "PC6": .postcode, "Gemeente": .municipality,
        "Huishoudens": .households, "Aantal huishoudens": .households, "Inwoners": .inhabitants, "Aantal inwoners": .inhabitants,
    ])

    static func key(_ text: String) -> String { text.trimmed().lowercased() }
}

/// What a load of the Mosaic files did, or in a dry run would do.
public struct MosaicImportReport: Sendable, Codable, Equatable {
    public struct RowError: Sendable, Codable, Equatable {
        /// "schema" or "gebieden": which of the two files.
        public let file: String
        public let line: Int
        public let column: String?
        public let reason: String
    }

    public var deliveryID: UUID?
    public var label: String
    public var dryRun: Bool
    /// The same two files as the current delivery: nothing was loaded.
    public var unchanged = false
    public var segments = 0
    public var subsegments = 0
    public var areaRows = 0
    public var postcodes = 0
    public var households = 0
    public var inhabitants = 0
    public var rejected = 0
    /// The first 1000 bad rows; `rejected` counts them all.
    public var errors: [RowError] = []

    mutating func reject(_ file: String, line: Int, column: String?, _ reason: String) {
        rejected += 1
        if errors.count < 1000 { errors.append(RowError(file: file, line: line, column: column, reason: reason)) }
    }
}

public enum MosaicError: Error, Equatable, ProblemConvertible {
    /// A file that cannot be read as a whole: nothing was loaded.
    case unreadable(String)

    public var problem: Problem {
        switch self {
        case .unreadable(let reason): .validation([FieldError(field: "file", message: reason)])
        }
    }
}

/// Loads a Mosaic delivery (scheme + area data) as the current one for every library: every row checked on its own
/// and reported with file, line, column and reason; the same two files again change nothing; a new delivery replaces
/// the old one in one transaction (the old one's area rows go, its name and scheme stay for the record).
public struct MosaicImport: Sendable {
    public var mapping: MosaicMapping
    public var dryRun: Bool

    public init(mapping: MosaicMapping = .standard, dryRun: Bool = false) {
        self.mapping = mapping
        self.dryRun = dryRun
    }

    struct DryRunFinished: Error { let report: MosaicImportReport }

    public func run(
        scheme: [UInt8], areas: [UInt8], label: String, by userID: UUID?, now: Date, db: Database
    ) async throws -> MosaicImportReport {
        do {
            return try await db.withPlatform { tx in
                let report = try await run(scheme: scheme, areas: areas, label: label, by: userID, now: now, in: tx)
                if dryRun && !report.unchanged { throw DryRunFinished(report: report) }
                return report
            }
        } catch let finished as DryRunFinished {
            return finished.report
        }
    }

    /// A table read whole: its header and its records as text (reference files are large but not huge: a province is
    /// a few hundred thousand rows).
    struct Table {
        var header: [String] = []
        var index: [MosaicMapping.Field: Int] = [:]
        var rows: [(line: Int, fields: [String])] = []

        init(_ file: [UInt8], name: String, mapping: MosaicMapping, report: inout MosaicImportReport) throws {
            var bytes = file
            let layout = CSVLayout(start: &bytes, encoding: mapping.encoding, separator: mapping.separator)
            guard !bytes.isEmpty else { throw MosaicError.unreadable("The \(name) file is empty.") }
            var parser = CSVParser(separator: layout.separator)
            var records: [CSVParser.Record] = []
            parser.feed(bytes) { records.append($0) }
            do {
                try parser.finish { records.append($0) }
            } catch let error as CSVParser.UnterminatedQuote {
                throw MosaicError.unreadable("A quoted field that starts on line \(error.line) of the \(name) file never ends.")
            }
            for (number, record) in records.enumerated() {
                var fields: [String] = []
                fields.reserveCapacity(record.count)
                var readable = true
                for position in 0..<record.count {
                    guard let text = layout.encoding.decode(record[position]) else {
                        report.reject(name, line: record.line, column: nil, "Column \(position + 1) is not \(layout.encoding.rawValue) text.")
                        readable = false
                        break
                    }
                    fields.append(text.trimmed())
                }
                if number == 0 {
                    guard readable else { throw MosaicError.unreadable("The \(name) file's header is not \(layout.encoding.rawValue) text.") }
                    header = fields
                } else if readable {
                    rows.append((record.line, fields))
                }
            }
            guard !header.isEmpty else { throw MosaicError.unreadable("The \(name) file has no header row.") }
            let byKey = Dictionary(mapping.columns.map { (MosaicMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            for (position, name) in header.enumerated() {
                if let field = byKey[MosaicMapping.key(name)], index[field] == nil { index[field] = position }
            }
        }

        func require(_ fields: [MosaicMapping.Field], file: String) throws {
            for field in fields where index[field] == nil {
                throw MosaicError.unreadable(
                    "No column of the \(file) file maps to \(field.rawValue); the header has: \(header.joined(separator: ", ")).")
            }
        }

        func value(_ field: MosaicMapping.Field, _ row: [String]) -> String { index[field].map { $0 < row.count ? row[$0] : "" } ?? "" }
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// "2011AB", "2011 ab" -> "2011 AB"; nil when it is not a Dutch postcode.
    static func postcode(_ raw: String) -> String? {
        let compact = raw.uppercased().filter { !$0.isWhitespace }
        guard compact.count == 6 else { return nil }
        let digits = compact.prefix(4)
        let letters = compact.suffix(2)
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.first != "0",
            letters.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return nil }
        return "\(digits) \(letters)"
    }

    public func run(
        scheme: [UInt8], areas: [UInt8], label: String, by userID: UUID?, now: Date, in tx: PlatformTransaction
    ) async throws -> MosaicImportReport {
        let label = label.trimmed()
        var report = MosaicImportReport(label: label, dryRun: dryRun)
        guard (1...200).contains(label.count) else { throw MosaicError.unreadable("Name the delivery (1 to 200 characters).") }
        let (schemeHash, areasHash) = (Self.sha256(scheme), Self.sha256(areas))
        let current = try await tx.query(
            "SELECT id, scheme_sha256, areas_sha256 FROM reference.mosaic_deliveries WHERE current"
        ).decode((UUID, String, String).self).first { _ in true }
        if let current, current.1 == schemeHash, current.2 == areasHash {
            report.deliveryID = current.0
            report.unchanged = true
            return report
        }

        // The scheme: one row per subsegment, with its segment's code and name on every row.
        let schemeTable = try Table(scheme, name: "schema", mapping: mapping, report: &report)
        try schemeTable.require([.segmentCode, .subsegmentCode, .subsegmentName], file: "schema")
        let mapped = Set(schemeTable.index.values)
        let characteristicColumns = schemeTable.header.indices.filter { !mapped.contains($0) && !schemeTable.header[$0].isEmpty }
        var segments: [String: (name: String, description: String)] = [:]
        var segmentOrder: [String] = []
        var subsegments: [(code: String, segment: String, name: String, description: String, characteristics: String)] = []
        var subsegmentCodes: Set<String> = []
        for (line, row) in schemeTable.rows {
            guard row.count == schemeTable.header.count else {
                report.reject("schema", line: line, column: nil, "The row has \(row.count) fields; the header has \(schemeTable.header.count).")
                continue
            }
            let segment = schemeTable.value(.segmentCode, row)
            let code = schemeTable.value(.subsegmentCode, row)
            let name = schemeTable.value(.subsegmentName, row)
            func column(_ field: MosaicMapping.Field) -> String? { schemeTable.index[field].map { schemeTable.header[$0] } }
            if segment.isEmpty || segment.count > 20 {
                report.reject("schema", line: line, column: column(.segmentCode), "Give the segment's code (at most 20 characters).")
                continue
            }
            if code.isEmpty || code.count > 20 {
                report.reject("schema", line: line, column: column(.subsegmentCode), "Give the subsegment's code (at most 20 characters).")
                continue
            }
            if name.isEmpty || name.count > 200 {
                report.reject("schema", line: line, column: column(.subsegmentName), "Give the subsegment's name (at most 200 characters).")
                continue
            }
            if subsegmentCodes.contains(code) {
                report.reject("schema", line: line, column: column(.subsegmentCode), "Subsegment \(code) appears twice.")
                continue
            }
            let segmentName = schemeTable.value(.segmentName, row)
            if segments[segment] == nil {
                segments[segment] = (segmentName.isEmpty ? segment : segmentName, schemeTable.value(.segmentDescription, row))
                segmentOrder.append(segment)
            }
            var characteristics: [String: String] = [:]
            for position in characteristicColumns where !row[position].isEmpty { characteristics[schemeTable.header[position]] = row[position] }
            let json = String(decoding: try JSONEncoder().encode(characteristics), as: UTF8.self)
            subsegments.append((code, segment, name, schemeTable.value(.subsegmentDescription, row), json))
            subsegmentCodes.insert(code)
        }
        guard !subsegments.isEmpty else { throw MosaicError.unreadable("The scheme file has no usable subsegment.") }

        // The area data: households and inhabitants per postcode and subsegment.
        let areaTable = try Table(areas, name: "gebieden", mapping: mapping, report: &report)
        try areaTable.require([.postcode, .municipality, .subsegmentCode, .households, .inhabitants], file: "gebieden")
        func areaColumn(_ field: MosaicMapping.Field) -> String? { areaTable.index[field].map { areaTable.header[$0] } }
        var postcodes: [String] = []
        var municipalities: [String] = []
        var codes: [String] = []
        var households: [Int] = []
        var inhabitants: [Int] = []
        var seen: [String: Int] = [:]
        var municipalityOf: [String: String] = [:]
        for (line, row) in areaTable.rows {
            guard row.count == areaTable.header.count else {
                report.reject("gebieden", line: line, column: nil, "The row has \(row.count) fields; the header has \(areaTable.header.count).")
                continue
            }
            guard let postcode = Self.postcode(areaTable.value(.postcode, row)) else {
                report.reject("gebieden", line: line, column: areaColumn(.postcode), "Not a Dutch postcode; use 1234 AB.")
                continue
            }
            let municipality = areaTable.value(.municipality, row)
            if municipality.isEmpty || municipality.count > 100 {
                report.reject("gebieden", line: line, column: areaColumn(.municipality), "Give the municipality.")
                continue
            }
            if let earlier = municipalityOf[postcode], earlier != municipality {
                report.reject("gebieden", line: line, column: areaColumn(.municipality), "The postcode lies in \(earlier) on an earlier row.")
                continue
            }
            let code = areaTable.value(.subsegmentCode, row)
            guard subsegmentCodes.contains(code) else {
                report.reject("gebieden", line: line, column: areaColumn(.subsegmentCode), "Unknown subsegment '\(code)'.")
                continue
            }
            guard let household = Int(areaTable.value(.households, row)), (0...1_000_000).contains(household) else {
                report.reject("gebieden", line: line, column: areaColumn(.households), "Not a whole number of households.")
                continue
            }
            guard let inhabitant = Int(areaTable.value(.inhabitants, row)), (0...10_000_000).contains(inhabitant) else {
                report.reject("gebieden", line: line, column: areaColumn(.inhabitants), "Not a whole number of inhabitants.")
                continue
            }
            let key = postcode + "|" + code
            if let first = seen[key] {
                report.reject(
                    "gebieden", line: line, column: areaColumn(.subsegmentCode), "This postcode and subsegment appear again (first on line \(first))."
                )
                continue
            }
            seen[key] = line
            municipalityOf[postcode] = municipality
            postcodes.append(postcode)
            municipalities.append(municipality)
            codes.append(code)
            households.append(household)
            inhabitants.append(inhabitant)
        }
        guard !postcodes.isEmpty else { throw MosaicError.unreadable("The area file has no usable row.") }

        let id = UUID()
        report.deliveryID = id
        report.segments = segments.count
        report.subsegments = subsegments.count
        report.areaRows = postcodes.count
        report.postcodes = municipalityOf.count
        report.households = households.reduce(0, +)
        report.inhabitants = inhabitants.reduce(0, +)

        try await tx.query(
            """
            INSERT INTO reference.mosaic_deliveries (id, label, scheme_sha256, areas_sha256, segments, subsegments, postcodes, households,
                                                     inhabitants, loaded_at, loaded_by_user_id)
            VALUES (\(id), \(label), \(schemeHash), \(areasHash), \(report.segments), \(report.subsegments), \(report.postcodes),
                    \(report.households), \(report.inhabitants), \(now), \(userID))
            """)
        let segmentCodes = segmentOrder
        try await tx.query(
            """
            INSERT INTO reference.mosaic_segments (delivery_id, code, name, description)
            SELECT \(id), code, name, description FROM unnest(\(segmentCodes)::text[], \(segmentCodes.map { segments[$0]?.name ?? $0 })::text[],
                                                              \(segmentCodes.map { segments[$0]?.description ?? "" })::text[]) AS s (code, name, description)
            """)
        try await tx.query(
            """
            INSERT INTO reference.mosaic_subsegments (delivery_id, code, segment_code, name, description, characteristics)
            SELECT \(id), code, segment_code, name, description, characteristics::jsonb
            FROM unnest(\(subsegments.map(\.code))::text[], \(subsegments.map(\.segment))::text[], \(subsegments.map(\.name))::text[],
                        \(subsegments.map(\.description))::text[], \(subsegments.map(\.characteristics))::text[])
                 AS s (code, segment_code, name, description, characteristics)
            """)
        let batch = 20_000
        var start = 0
        while start < postcodes.count {
            let end = min(start + batch, postcodes.count)
            try await tx.query(
                """
                INSERT INTO reference.mosaic_areas (delivery_id, postcode, municipality, subsegment_code, households, inhabitants)
                SELECT \(id), postcode, municipality, code, households, inhabitants
                FROM unnest(\(Array(postcodes[start..<end]))::text[], \(Array(municipalities[start..<end]))::text[],
                            \(Array(codes[start..<end]))::text[], \(Array(households[start..<end]))::int[],
                            \(Array(inhabitants[start..<end]))::int[]) AS a (postcode, municipality, code, households, inhabitants)
                """)
            start = end
        }
        // Each postcode's dominant subsegment: most households, then most inhabitants, then the lowest code.
        try await tx.query(
            """
            INSERT INTO reference.mosaic_postcodes (delivery_id, postcode, municipality, subsegment_code, segment_code)
            SELECT DISTINCT ON (a.postcode) a.delivery_id, a.postcode, a.municipality, a.subsegment_code, s.segment_code
            FROM reference.mosaic_areas a
            JOIN reference.mosaic_subsegments s ON s.delivery_id = a.delivery_id AND s.code = a.subsegment_code
            WHERE a.delivery_id = \(id)
            ORDER BY a.postcode, a.households DESC, a.inhabitants DESC, a.subsegment_code
            """)
        // The new delivery replaces the current one: the old area rows go.
        var replaced: [UUID] = []
        let old = try await tx.query("UPDATE reference.mosaic_deliveries SET current = false, replaced_at = \(now) WHERE current RETURNING id")
        for try await previous in old.decode(UUID.self) { replaced.append(previous) }
        if !replaced.isEmpty {
            try await tx.query("DELETE FROM reference.mosaic_postcodes WHERE delivery_id = ANY(\(replaced))")
            try await tx.query("DELETE FROM reference.mosaic_areas WHERE delivery_id = ANY(\(replaced))")
        }
        try await tx.query("UPDATE reference.mosaic_deliveries SET current = true WHERE id = \(id)")
        try await PlatformAudit.record(
            AuditEvent(
                action: "mosaic.loaded", actorUserID: userID, targetType: "mosaic_delivery", targetID: id.uuidString.lowercased(),
                details: [
                    "dry_run": String(dryRun), "postcodes": String(report.postcodes), "subsegments": String(report.subsegments),
                    "rejected": String(report.rejected),
                ]), at: now, in: tx)
        return report
    }
}
