import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The Mosaic delivery a report used.
public struct MosaicDelivery: Sendable, Equatable {
    public let id: UUID
    public let label: String
    public let loadedAt: Date
    public let postcodes: Int
    public let households: Int
    public let inhabitants: Int
}

/// One line of a Mosaic report: a subsegment, a segment (its subsegments summed) or the total.
public struct MosaicLine: Sendable, Equatable {
    public let code: String
    public let name: String
    /// The segment a subsegment belongs to; the segment's own code for a segment; "" for the total.
    public let segmentCode: String
    public var inhabitants = 0
    public var households = 0
    /// Current members (active or suspended membership) living in the area.
    public var members = 0
    /// Current members who borrowed in the last 12 months.
    public var activeMembers = 0
    public var youthMembers = 0
    /// Activity guests living in the area (members or not).
    public var guests = 0
    /// Inhabitants of the benchmark (the province, or one municipality), for the inhabitants report.
    public var benchmarkInhabitants = 0
    /// Registrations (booked, attended or not shown) for the activities of the activities report.
    public var registrations = 0
    /// Different people among those registrations.
    public var participants = 0
    public var attended = 0

    public init(code: String, name: String, segmentCode: String) {
        self.code = code
        self.name = name
        self.segmentCode = segmentCode
    }

    /// Members per 1,000 inhabitants; nil without inhabitants.
    public var penetration: Double? { inhabitants > 0 ? Double(members) * 1000 / Double(inhabitants) : nil }

    mutating func add(_ other: MosaicLine) {
        inhabitants += other.inhabitants
        households += other.households
        members += other.members
        activeMembers += other.activeMembers
        youthMembers += other.youthMembers
        guests += other.guests
        benchmarkInhabitants += other.benchmarkInhabitants
        registrations += other.registrations
        participants += other.participants
        attended += other.attended
    }
}

/// Report 2: which segments the library reaches and which it misses.
public struct MosaicMembersReport: Sendable, Equatable {
    public let delivery: MosaicDelivery
    public let subsegments: [MosaicLine]
    public let segments: [MosaicLine]
    public let total: MosaicLine
    /// Current members in scope whose postcode lies outside the area or is not in the delivery (not in the lines).
    public let membersOutside: Int

    /// Penetration against the library's (or scope's) average, as an index: 100 is average, 150 half again as many.
    public func index(_ line: MosaicLine) -> Int? {
        guard let penetration = line.penetration, let average = total.penetration, average > 0 else { return nil }
        return Int((penetration / average * 100).rounded())
    }
}

/// Activity registrations by segment: whom the library's activities reach, against the inhabitants of the area.
public struct MosaicActivitiesReport: Sendable, Equatable {
    public let delivery: MosaicDelivery
    public let subsegments: [MosaicLine]
    public let segments: [MosaicLine]
    public let total: MosaicLine
    /// Registrations of people whose postcode lies outside the area or is not in the delivery (not in the lines).
    public let registrationsOutside: Int

    /// Participants per 1,000 inhabitants against the area's average, as an index around 100.
    public func index(_ line: MosaicLine) -> Int? {
        guard line.inhabitants > 0, total.inhabitants > 0, total.participants > 0 else { return nil }
        let reach = Double(line.participants) / Double(line.inhabitants)
        let average = Double(total.participants) / Double(total.inhabitants)
        return Int((reach / average * 100).rounded())
    }
}

/// Report 1: the area's inhabitants by segment against a benchmark (the province, that is every loaded postcode, or
/// one municipality).
public struct MosaicInhabitantsReport: Sendable, Equatable {
    public let delivery: MosaicDelivery
    public let subsegments: [MosaicLine]
    public let segments: [MosaicLine]
    public let total: MosaicLine

    /// The line's share of the area's inhabitants, as a fraction.
    public func share(_ line: MosaicLine) -> Double? { total.inhabitants > 0 ? Double(line.inhabitants) / Double(total.inhabitants) : nil }

    /// The share against the benchmark's share of the same line, as an index around 100.
    public func index(_ line: MosaicLine) -> Int? {
        guard let share = share(line), total.benchmarkInhabitants > 0, line.benchmarkInhabitants > 0 else { return nil }
        let benchmark = Double(line.benchmarkInhabitants) / Double(total.benchmarkInhabitants)
        return Int((share / benchmark * 100).rounded())
    }
}

/// The two standard Mosaic reports for one library, read in its own transaction from its customers and the shared
/// reference data. Only counts leave the database.
public enum MosaicReports {
    public static func currentDelivery(in tx: TenantTransaction) async throws -> MosaicDelivery? {
        let rows = try await tx.query(
            "SELECT id, label, loaded_at, postcodes, households, inhabitants FROM reference.mosaic_deliveries WHERE current")
        for try await (id, label, loadedAt, postcodes, households, inhabitants) in rows.decode((UUID, String, Date, Int, Int, Int).self) {
            return MosaicDelivery(
                id: id, label: label, loadedAt: loadedAt, postcodes: postcodes, households: households, inhabitants: inhabitants)
        }
        return nil
    }

    /// The municipalities of the library's branches: its service area.
    public static func serviceArea(in tx: TenantTransaction) async throws -> [String] {
        var names: [String] = []
        let rows = try await tx.query("SELECT DISTINCT municipality FROM branches WHERE municipality <> '' ORDER BY municipality")
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// The inhabitants and households of `municipalities` per subsegment, as the common table expression `area`.
    static func area(_ municipalities: [String], delivery: MosaicDelivery) -> SQL {
        """
        area AS (
            SELECT a.subsegment_code AS code, sum(a.inhabitants)::bigint AS inhabitants, sum(a.households)::bigint AS households
            FROM reference.mosaic_areas a
            WHERE a.delivery_id = \(delivery.id) AND a.municipality = ANY(\(municipalities))
            GROUP BY 1
        )
        """
    }

    /// Every subsegment of the delivery with its `area` figures and `columns` from the common table expression `people`,
    /// in the scheme's order; `line` reads the first five columns.
    static func perSubsegment(_ columns: SQL, delivery: MosaicDelivery) -> SQL {
        """
        SELECT s.code, s.name, s.segment_code, coalesce(area.inhabitants, 0)::int8, coalesce(area.households, 0)::int8, \(columns)
        FROM reference.mosaic_subsegments s
        LEFT JOIN area ON area.code = s.code
        LEFT JOIN people ON people.code = s.code
        WHERE s.delivery_id = \(delivery.id)
        ORDER BY s.segment_code, s.code
        """
    }

    static func line(_ row: PostgresRandomAccessRow) throws -> MosaicLine {
        var line = MosaicLine(code: try row[0].decode(String.self), name: try row[1].decode(String.self), segmentCode: try row[2].decode(String.self))
        line.inhabitants = try row[3].decode(Int.self)
        line.households = try row[4].decode(Int.self)
        return line
    }

    /// Report 2 over `municipalities`; with `branchID`, the members whose favourite branch it is.
    public static func membersAgainstArea(
        municipalities: [String], branchID: UUID?, delivery: MosaicDelivery, in tx: TenantTransaction
    ) async throws -> MosaicMembersReport {
        let statement: SQL =
            """
            WITH \(area(municipalities, delivery: delivery)), people AS (
                SELECT p.subsegment_code AS code,
                       count(*) FILTER (WHERE c.roles @> '{member}' AND c.membership_status IN ('active', 'suspended')) AS members,
                       count(*) FILTER (WHERE c.roles @> '{member}' AND c.membership_status = 'active' AND c.loans_12m > 0) AS active,
                       count(*) FILTER (WHERE c.roles @> '{member}' AND c.membership_status IN ('active', 'suspended')
                                          AND c.member_type = 'youth') AS youth,
                       count(*) FILTER (WHERE c.roles @> '{guest}') AS guests
                FROM customers c
                JOIN reference.mosaic_postcodes p ON p.delivery_id = \(delivery.id) AND p.postcode = c.postcode
                WHERE c.erased_at IS NULL AND p.municipality = ANY(\(municipalities))
                  AND (\(branchID)::uuid IS NULL OR c.favourite_branch_id = \(branchID))
                GROUP BY 1
            )
            \(perSubsegment(
                "coalesce(people.members, 0)::int8, coalesce(people.active, 0)::int8, coalesce(people.youth, 0)::int8, coalesce(people.guests, 0)::int8",
                delivery: delivery))
            """
        let rows = try await tx.query(statement.query)
        var lines: [MosaicLine] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            var line = try Self.line(c)
            line.members = try c[5].decode(Int.self)
            line.activeMembers = try c[6].decode(Int.self)
            line.youthMembers = try c[7].decode(Int.self)
            line.guests = try c[8].decode(Int.self)
            lines.append(line)
        }
        let outside =
            try await tx.query(
                """
                SELECT count(*)::int8 FROM customers c
                WHERE c.erased_at IS NULL AND c.roles @> '{member}' AND c.membership_status IN ('active', 'suspended')
                  AND (\(branchID)::uuid IS NULL OR c.favourite_branch_id = \(branchID))
                  AND NOT EXISTS (SELECT 1 FROM reference.mosaic_postcodes p
                                  WHERE p.delivery_id = \(delivery.id) AND p.postcode = c.postcode AND p.municipality = ANY(\(municipalities)))
                """
            ).decode(Int.self).first { _ in true } ?? 0
        let (segments, total) = try await rollUp(lines, delivery: delivery, in: tx)
        return MosaicMembersReport(delivery: delivery, subsegments: lines, segments: segments, total: total, membersOutside: outside)
    }

    /// Registrations for activities that started in `period` (held at `branchID` and of `category` when given), by the
    /// Mosaic subsegment of the registered person's postcode, for people living in `municipalities`. A person counts
    /// once per subsegment among the participants however many activities they booked; a cancelled or waitlisted
    /// booking is no registration; an erased person does not count.
    public static func activities(
        municipalities: [String], branchID: UUID?, category: String?, period: Range<Date>, delivery: MosaicDelivery,
        in tx: TenantTransaction
    ) async throws -> MosaicActivitiesReport {
        let statement: SQL =
            """
            WITH \(area(municipalities, delivery: delivery)), booked AS (
                SELECT r.customer_id, r.status, c.postcode
                FROM registrations r
                JOIN activities a ON a.id = r.activity_id
                JOIN customers c ON c.id = r.customer_id
                WHERE r.status IN ('booked', 'attended', 'no_show') AND c.erased_at IS NULL
                  AND a.starts_at >= \(period.lowerBound) AND a.starts_at < \(period.upperBound)
                  AND (\(branchID)::uuid IS NULL OR a.branch_id = \(branchID))
                  AND (\(category)::text IS NULL OR a.category = \(category))
            ), people AS (
                SELECT p.subsegment_code AS code, count(*) AS registrations, count(DISTINCT b.customer_id) AS participants,
                       count(*) FILTER (WHERE b.status = 'attended') AS attended
                FROM booked b
                JOIN reference.mosaic_postcodes p ON p.delivery_id = \(delivery.id) AND p.postcode = b.postcode
                WHERE p.municipality = ANY(\(municipalities))
                GROUP BY 1
            )
            \(perSubsegment(
                """
                coalesce(people.registrations, 0)::int8, coalesce(people.participants, 0)::int8, coalesce(people.attended, 0)::int8,
                (SELECT count(*) FROM booked b WHERE NOT EXISTS (
                     SELECT 1 FROM reference.mosaic_postcodes p
                     WHERE p.delivery_id = \(delivery.id) AND p.postcode = b.postcode AND p.municipality = ANY(\(municipalities))))::int8
                """, delivery: delivery))
            """
        let rows = try await tx.query(statement.query)
        var lines: [MosaicLine] = []
        var outside = 0
        for try await row in rows {
            let c = row.makeRandomAccess()
            var line = try Self.line(c)
            line.registrations = try c[5].decode(Int.self)
            line.participants = try c[6].decode(Int.self)
            line.attended = try c[7].decode(Int.self)
            outside = try c[8].decode(Int.self)
            lines.append(line)
        }
        let (segments, total) = try await rollUp(lines, delivery: delivery, in: tx)
        return MosaicActivitiesReport(delivery: delivery, subsegments: lines, segments: segments, total: total, registrationsOutside: outside)
    }

    /// Report 1 over `municipalities`, against one municipality or (nil) every loaded postcode.
    public static func inhabitants(
        municipalities: [String], benchmark: String?, delivery: MosaicDelivery, in tx: TenantTransaction
    ) async throws -> MosaicInhabitantsReport {
        let rows = try await tx.query(
            """
            SELECT s.code, s.name, s.segment_code,
                   coalesce(sum(a.inhabitants) FILTER (WHERE a.municipality = ANY(\(municipalities))), 0)::int8,
                   coalesce(sum(a.households) FILTER (WHERE a.municipality = ANY(\(municipalities))), 0)::int8,
                   coalesce(sum(a.inhabitants) FILTER (WHERE \(benchmark)::text IS NULL OR a.municipality = \(benchmark)), 0)::int8
            FROM reference.mosaic_subsegments s
            LEFT JOIN reference.mosaic_areas a ON a.delivery_id = s.delivery_id AND a.subsegment_code = s.code
            WHERE s.delivery_id = \(delivery.id)
            GROUP BY s.code, s.name, s.segment_code
            ORDER BY s.segment_code, s.code
            """)
        var lines: [MosaicLine] = []
        for try await (code, name, segment, inhabitants, households, benchmarkInhabitants) in rows.decode(
            (String, String, String, Int, Int, Int).self)
        {
            var line = MosaicLine(code: code, name: name, segmentCode: segment)
            line.inhabitants = inhabitants
            line.households = households
            line.benchmarkInhabitants = benchmarkInhabitants
            lines.append(line)
        }
        let (segments, total) = try await rollUp(lines, delivery: delivery, in: tx)
        return MosaicInhabitantsReport(delivery: delivery, subsegments: lines, segments: segments, total: total)
    }

    /// The segments (their subsegments summed, in the scheme's order) and the total.
    static func rollUp(_ lines: [MosaicLine], delivery: MosaicDelivery, in tx: TenantTransaction) async throws -> ([MosaicLine], MosaicLine) {
        var segments: [MosaicLine] = []
        let rows = try await tx.query("SELECT code, name FROM reference.mosaic_segments WHERE delivery_id = \(delivery.id) ORDER BY code")
        for try await (code, name) in rows.decode((String, String).self) {
            var segment = MosaicLine(code: code, name: name, segmentCode: code)
            for line in lines where line.segmentCode == code { segment.add(line) }
            segments.append(segment)
        }
        var total = MosaicLine(code: "", name: "Totaal", segmentCode: "")
        for line in lines { total.add(line) }
        return (segments, total)
    }

    /// The codes and names of the current delivery's segments and subsegments, in the scheme's order: what a segment
    /// rule on `mosaic_segment` or `mosaic_subsegment` can choose from. Empty without a delivery.
    public static func codes(
        in tx: TenantTransaction
    ) async throws -> (segments: [(code: String, name: String)], subsegments: [(code: String, name: String)]) {
        var segments: [(code: String, name: String)] = []
        var subsegments: [(code: String, name: String)] = []
        let rows = try await tx.query(
            """
            SELECT 1, s.code, s.name FROM reference.mosaic_segments s JOIN reference.mosaic_deliveries d ON d.id = s.delivery_id AND d.current
            UNION ALL
            SELECT 2, s.code, s.name FROM reference.mosaic_subsegments s JOIN reference.mosaic_deliveries d ON d.id = s.delivery_id AND d.current
            ORDER BY 1, 2
            """)
        for try await (level, code, name) in rows.decode((Int, String, String).self) {
            if level == 1 { segments.append((code, name)) } else { subsegments.append((code, name)) }
        }
        return (segments, subsegments)
    }

    /// The subsegments of a segment with their descriptions and the supplier's characteristics, for the drill-down.
    public static func subsegmentDetails(
        ofSegment code: String, delivery: MosaicDelivery, in tx: TenantTransaction
    ) async throws
        -> [MosaicSubsegmentDetails]
    {
        let rows = try await tx.query(
            """
            SELECT code, name, description, characteristics::text FROM reference.mosaic_subsegments
            WHERE delivery_id = \(delivery.id) AND segment_code = \(code) ORDER BY code
            """)
        var details: [MosaicSubsegmentDetails] = []
        for try await (code, name, description, json) in rows.decode((String, String, String, String).self) {
            details.append(
                MosaicSubsegmentDetails(
                    code: code, name: name, description: description,
                    characteristics: try JSONDecoder().decode([String: String].self, from: Data(json.utf8))))
        }
        return details
    }
}

/// A subsegment as the supplier describes it: what the drill-down shows beside the figures.
public struct MosaicSubsegmentDetails: Sendable, Equatable {
    public let code: String
    public let name: String
    public let description: String
    /// Column of the scheme file -> text (media use, leisure, ...).
    public let characteristics: [String: String]
}
