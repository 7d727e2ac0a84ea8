import Foundation
import KringCampaigns
import KringCore
import KringDatabase
import KringInsight
import KringTestSupport
import PostgresNIO
import Testing

/// Mosaic against a real PostgreSQL: a delivery loads once for every library, bad rows are reported, the same files
/// again change nothing, a library reads the data and cannot change it, and report 2's figures equal SQL written here
/// on its own (two municipalities, three branches, a segment no member belongs to, a member with an unknown postcode
/// and an erased member who must not count). Each test has a database of its own: a delivery is current for a whole
/// database.
@Suite("Mosaic") struct MosaicTests {
    static let scheme = """
        Segment;Segmentnaam;Subsegment;Subsegmentnaam;Mediagebruik\r
        X;Verzonnen X;X1;Eerste x;kranten\r
        X;Verzonnen X;X2;Tweede x;online\r
        Y;Verzonnen Y;Y1;Eerste y;radio\r
        Z;Verzonnen Z;Z1;Eerste z;\r
        Z;Verzonnen Z;;Zonder code;\r

        """
    static let areas = """
        Postcode;Gemeente;Subsegment;Huishoudens;Inwoners\r
        2011AA;Duinstad;X1;10;25\r
        2011 AA;Duinstad;Y1;2;4\r
        2011 AB;Duinstad;Y1;8;20\r
        2011 AC;Duinstad;Z1;5;12\r
        2041 AA;Zeedorp;X2;6;15\r
        2041 AB;Zeedorp;X1;3;9\r
        3000 AA;Verweg;Z1;100;250\r
        3000 AB;Verweg;Q9;1;1\r
        0123 AA;Verweg;X1;1;1\r
        3000 AC;Verweg;X1;veel;1\r

        """

    @Test func aDeliveryLoadsOnceWithItsBadRowsAndALibraryReadsButCannotChangeIt() async throws {
        let env = try await TestEnvironment.forSuite("Mosaic")
        let now = Date()
        let report = try await MosaicImport().run(
            scheme: Array(Self.scheme.utf8), areas: Array(Self.areas.utf8), label: "Test 1", by: nil, now: now, db: env.db)
        #expect(report.segments == 3 && report.subsegments == 4)
        #expect(report.areaRows == 7 && report.postcodes == 6)
        #expect(report.households == 134 && report.inhabitants == 335)
        #expect(report.rejected == 4)
        let reasons = report.errors.map { "\($0.file) \($0.line) \($0.column ?? "-"): \($0.reason)" }
        #expect(reasons.contains("schema 6 Subsegment: Give the subsegment's code (at most 20 characters)."))
        #expect(reasons.contains("gebieden 9 Subsegment: Unknown subsegment 'Q9'."))
        #expect(reasons.contains("gebieden 10 Postcode: Not a Dutch postcode; use 1234 AB."))
        #expect(reasons.contains("gebieden 11 Huishoudens: Not a whole number of households."))
        // The same files again: nothing loaded.
        let again = try await MosaicImport().run(
            scheme: Array(Self.scheme.utf8), areas: Array(Self.areas.utf8), label: "Test 1 again", by: nil, now: now, db: env.db)
        #expect(again.unchanged && again.deliveryID == report.deliveryID)
        // A dry run of other files loads nothing either.
        let dry = try await MosaicImport(dryRun: true).run(
            scheme: Array(Self.scheme.utf8), areas: Array((Self.areas + "2041 AC;Zeedorp;X2;1;2\r\n").utf8), label: "Proef", by: nil, now: now,
            db: env.db)
        #expect(!dry.unchanged && dry.areaRows == 8)
        let deliveries = try await env.db.withPlatform { tx in
            try await tx.query("SELECT count(*)::int8, count(*) FILTER (WHERE current)::int8 FROM reference.mosaic_deliveries")
                .decode((Int, Int).self).first { _ in true }
        }
        #expect(deliveries?.0 == 1 && deliveries?.1 == 1)
        // The dominant subsegment of 2011 AA is X1 (10 households against 2).
        let dominant = try await env.db.withPlatform { tx in
            try await tx.query("SELECT subsegment_code FROM reference.mosaic_postcodes WHERE postcode = '2011 AA'").decode(String.self)
                .first { _ in true }
        }
        #expect(dominant == "X1")

        // A library reads it and cannot change it.
        let tenant = try await env.createTenant("mo")
        let delivery = try await env.db.withTenant(tenant) { tx in try await MosaicReports.currentDelivery(in: tx) }
        #expect(delivery?.label == "Test 1" && delivery?.postcodes == 6)
        await #expect(throws: (any Error).self) {
            try await env.db.withTenant(tenant) { tx in try await tx.query("DELETE FROM reference.mosaic_areas") }
        }
        await #expect(throws: (any Error).self) {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query("UPDATE reference.mosaic_deliveries SET label = 'x'")
            }
        }
    }

    /// A member of `tenant`: (postcode, branch, member type, status, loans in 12 months, guest too, erased).
    @discardableResult
    static func customer(
        _ postcode: String?, branch: UUID?, type: String = "adult", status: String? = "active", loans: Int = 3, roles: [String] = ["member"],
        erased: Bool = false, in tx: TenantTransaction
    ) async throws -> UUID {
        let now = Date()
        let id = UUID()
        let number: String? = roles.contains("member") ? String(UUID().uuidString.prefix(12)) : nil
        try await tx.query(
            """
            INSERT INTO customers (id, roles, member_number, member_type, membership_status, postcode, favourite_branch_id, loans_12m,
                                   erased_at, created_at, updated_at)
            VALUES (\(id), \(roles), \(number), \(roles.contains("member") ? type : nil), \(roles.contains("member") ? status : nil), \(postcode),
                    \(branch), \(loans), \(erased ? now : nil), \(now), \(now))
            """)
        return id
    }

    @Test func membersAgainstTheAreaEqualIndependentSQL() async throws {
        let env = try await TestEnvironment.forSuite("MosaicReport")
        _ = try await MosaicImport().run(
            scheme: Array(Self.scheme.utf8), areas: Array(Self.areas.utf8), label: "Test 1", by: nil, now: Date(), db: env.db)
        let tenant = try await env.createTenant("mr")
        let (centrum, noord, zee) = try await env.db.withTenant(tenant) { tx in
            func branch(_ name: String, _ municipality: String) async throws -> UUID {
                let id = UUID()
                try await tx.query(
                    "INSERT INTO branches (id, name, municipality, created_at) VALUES (\(id), \(name), \(municipality), now())")
                return id
            }
            return (
                try await branch("Duinstad Centrum", "Duinstad"), try await branch("Duinstad Noord", "Duinstad"),
                try await branch("Zeedorp", "Zeedorp")
            )
        }
        try await env.db.withTenant(tenant) { tx in
            for _ in 0..<3 { try await Self.customer("2011 AA", branch: centrum, in: tx) }  // X1
            try await Self.customer("2011 AA", branch: noord, type: "youth", loans: 0, in: tx)  // X1, youth, not active
            for _ in 0..<2 { try await Self.customer("2011 AB", branch: noord, in: tx) }  // Y1
            try await Self.customer("2011 AB", branch: noord, status: "ended", in: tx)  // a former member: not counted
            try await Self.customer("2011 AB", branch: nil, roles: ["guest"], in: tx)  // a guest only
            try await Self.customer("2011 AB", branch: centrum, roles: ["member", "guest"], in: tx)  // Y1, member and guest
            try await Self.customer("2041 AA", branch: zee, status: "suspended", in: tx)  // X2
            try await Self.customer("2041 AB", branch: zee, type: "youth", in: tx)  // X1
            try await Self.customer("9999 ZZ", branch: centrum, in: tx)  // unknown postcode: outside
            try await Self.customer("3000 AA", branch: zee, in: tx)  // lives outside the service area
            try await Self.customer(nil, branch: centrum, in: tx)  // no postcode
            try await Self.customer("2011 AA", branch: centrum, erased: true, in: tx)  // erased: never counts
        }
        let (library, branchReport, area) = try await env.db.withTenant(tenant) { tx in
            let delivery = try #require(try await MosaicReports.currentDelivery(in: tx))
            let area = try await MosaicReports.serviceArea(in: tx)
            return (
                try await MosaicReports.membersAgainstArea(municipalities: area, branchID: nil, delivery: delivery, in: tx),
                try await MosaicReports.membersAgainstArea(municipalities: area, branchID: noord, delivery: delivery, in: tx), area
            )
        }
        #expect(area == ["Duinstad", "Zeedorp"])

        // The same figures, written here without the report's code: each customer's subsegment is the one with the most
        // households at the postcode.
        let expected = try await env.db.withTenant(tenant) { tx in
            var byCode: [String: (Int, Int, Int, Int, Int)] = [:]
            let rows = try await tx.query(
                """
                SELECT s.code,
                  (SELECT coalesce(sum(a.inhabitants), 0) FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                   WHERE d.current AND a.subsegment_code = s.code AND a.municipality IN ('Duinstad', 'Zeedorp'))::int8,
                  (SELECT count(*) FROM customers c WHERE c.erased_at IS NULL AND 'member' = ANY(c.roles)
                     AND c.membership_status <> 'ended'
                     AND (SELECT a.subsegment_code FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                          WHERE d.current AND a.postcode = c.postcode AND a.municipality IN ('Duinstad', 'Zeedorp')
                          ORDER BY a.households DESC, a.inhabitants DESC, a.subsegment_code LIMIT 1) = s.code)::int8,
                  (SELECT count(*) FROM customers c WHERE c.erased_at IS NULL AND 'member' = ANY(c.roles)
                     AND c.membership_status = 'active' AND c.loans_12m > 0
                     AND (SELECT a.subsegment_code FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                          WHERE d.current AND a.postcode = c.postcode AND a.municipality IN ('Duinstad', 'Zeedorp')
                          ORDER BY a.households DESC, a.inhabitants DESC, a.subsegment_code LIMIT 1) = s.code)::int8,
                  (SELECT count(*) FROM customers c WHERE c.erased_at IS NULL AND 'member' = ANY(c.roles)
                     AND c.membership_status <> 'ended' AND c.member_type = 'youth'
                     AND (SELECT a.subsegment_code FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                          WHERE d.current AND a.postcode = c.postcode AND a.municipality IN ('Duinstad', 'Zeedorp')
                          ORDER BY a.households DESC, a.inhabitants DESC, a.subsegment_code LIMIT 1) = s.code)::int8,
                  (SELECT count(*) FROM customers c WHERE c.erased_at IS NULL AND 'guest' = ANY(c.roles)
                     AND (SELECT a.subsegment_code FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                          WHERE d.current AND a.postcode = c.postcode AND a.municipality IN ('Duinstad', 'Zeedorp')
                          ORDER BY a.households DESC, a.inhabitants DESC, a.subsegment_code LIMIT 1) = s.code)::int8
                FROM reference.mosaic_subsegments s JOIN reference.mosaic_deliveries d ON d.id = s.delivery_id AND d.current
                """)
            for try await (code, inhabitants, members, active, youth, guests) in rows.decode((String, Int, Int, Int, Int, Int).self) {
                byCode[code] = (inhabitants, members, active, youth, guests)
            }
            return byCode
        }
        for line in library.subsegments {
            let want = try #require(expected[line.code])
            #expect(
                (line.inhabitants, line.members, line.activeMembers, line.youthMembers, line.guests) == want, "\(line.code)")
        }
        let x1 = try #require(library.subsegments.first { $0.code == "X1" })
        #expect(x1.inhabitants == 34 && x1.members == 5 && x1.activeMembers == 4 && x1.youthMembers == 2)
        let z = try #require(library.segments.first { $0.code == "Z" })
        #expect(z.inhabitants == 12 && z.members == 0, "the segment no member belongs to; Verweg's inhabitants are outside the area")
        #expect(library.index(z) == 0)
        #expect(library.total.members == 9 && library.total.inhabitants == 85 && library.total.guests == 2)
        #expect(library.membersOutside == 3, "unknown postcode, outside the service area, no postcode")
        // X1: 5 members of 34 inhabitants against 9 of 85: index round(147.06 / 105.88 * 100) = 139.
        #expect(library.index(x1) == 139)
        // Per branch: Noord's members only.
        #expect(branchReport.total.members == 3)
        #expect(branchReport.subsegments.first { $0.code == "Y1" }?.members == 2)
        #expect(branchReport.membersOutside == 0)

        // Report 1: the area's inhabitants against the province (every loaded postcode).
        let inhabitants = try await env.db.withTenant(tenant) { tx in
            let delivery = try #require(try await MosaicReports.currentDelivery(in: tx))
            return try await MosaicReports.inhabitants(municipalities: ["Duinstad", "Zeedorp"], benchmark: nil, delivery: delivery, in: tx)
        }
        #expect(inhabitants.total.inhabitants == 85 && inhabitants.total.benchmarkInhabitants == 335)
        let zArea = try #require(inhabitants.segments.first { $0.code == "Z" })
        // Z: 12 of 85 against 262 of 335: index round(0.1412 / 0.7821 * 100) = 18.
        #expect(inhabitants.index(zArea) == 18)
    }

    /// Activity registrations by segment, and a segment rule on the Mosaic subsegment, against SQL written here.
    @Test func activityRegistrationsBySegmentAndSegmentRulesEqualIndependentSQL() async throws {
        let env = try await TestEnvironment.forSuite("MosaicActivities")
        _ = try await MosaicImport().run(
            scheme: Array(Self.scheme.utf8), areas: Array(Self.areas.utf8), label: "Test 1", by: nil, now: Date(), db: env.db)
        let tenant = try await env.createTenant("ma")
        let now = Date()
        let (centrum, zee) = try await env.db.withTenant(tenant) { tx in
            let (centrum, zee) = (UUID(), UUID())
            try await tx.query(
                """
                INSERT INTO branches (id, name, municipality, created_at)
                VALUES (\(centrum), 'Duinstad Centrum', 'Duinstad', now()), (\(zee), 'Zeedorp', 'Zeedorp', now())
                """)
            return (centrum, zee)
        }
        try await env.db.withTenant(tenant) { tx in
            func activity(_ category: String, at branch: UUID, daysAgo: Double) async throws -> UUID {
                let id = UUID()
                let starts = now.addingTimeInterval(-daysAgo * 86_400)
                try await tx.query(
                    """
                    INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, created_at, updated_at)
                    VALUES (\(id), 'Activiteit', \(category), \(branch), \(starts), \(starts.addingTimeInterval(3600)), now(), now())
                    """)
                return id
            }
            func register(_ customer: UUID, _ activity: UUID, _ status: String) async throws {
                try await tx.query(
                    """
                    INSERT INTO registrations (id, activity_id, customer_id, status, source, registered_at, updated_at)
                    VALUES (\(UUID()), \(activity), \(customer), \(status), 'staff', now(), now())
                    """)
            }
            let lezing = try await activity("Lezing", at: centrum, daysAgo: 30)
            let taal = try await activity("Taalcafé", at: zee, daysAgo: 100)
            let old = try await activity("Lezing", at: centrum, daysAgo: 400)  // before the year: never counts
            let x1 = try await Self.customer("2011 AA", branch: centrum, in: tx)
            let guest = try await Self.customer("2011 AA", branch: nil, roles: ["guest"], in: tx)
            let y1 = try await Self.customer("2011 AB", branch: centrum, in: tx)
            let x2 = try await Self.customer("2041 AA", branch: zee, in: tx)
            let outside = try await Self.customer("3000 AA", branch: zee, in: tx)
            let erased = try await Self.customer("2011 AB", branch: centrum, erased: true, in: tx)
            try await register(x1, lezing, "attended")
            try await register(x1, taal, "booked")  // the same person twice: two registrations, one participant
            try await register(guest, lezing, "no_show")
            try await register(y1, lezing, "cancelled")  // no registration
            try await register(y1, taal, "waitlisted")  // no registration
            try await register(x2, taal, "attended")
            try await register(outside, lezing, "attended")  // lives outside the area
            try await register(erased, lezing, "attended")  // erased: never counts
            try await register(x2, old, "attended")
        }
        let period = now.addingTimeInterval(-365 * 86_400)..<now.addingTimeInterval(1)
        let (all, lezingen, atZee) = try await env.db.withTenant(tenant) { tx in
            let delivery = try #require(try await MosaicReports.currentDelivery(in: tx))
            let area = try await MosaicReports.serviceArea(in: tx)
            func report(branch: UUID?, category: String?) async throws -> MosaicActivitiesReport {
                try await MosaicReports.activities(
                    municipalities: area, branchID: branch, category: category, period: period, delivery: delivery, in: tx)
            }
            return (
                try await report(branch: nil, category: nil), try await report(branch: nil, category: "Lezing"),
                try await report(branch: zee, category: nil)
            )
        }
        // The same, per subsegment, written here: registrations in the year of people in the area, by the subsegment with
        // the most households at their postcode.
        let expected = try await env.db.withTenant(tenant) { tx in
            var byCode: [String: (Int, Int, Int)] = [:]
            let rows = try await tx.query(
                """
                WITH placed AS (
                    SELECT r.customer_id, r.status,
                           (SELECT a.subsegment_code FROM reference.mosaic_areas a JOIN reference.mosaic_deliveries d ON d.id = a.delivery_id
                            WHERE d.current AND a.postcode = c.postcode AND a.municipality IN ('Duinstad', 'Zeedorp')
                            ORDER BY a.households DESC, a.inhabitants DESC, a.subsegment_code LIMIT 1) AS code
                    FROM registrations r, activities t, customers c
                    WHERE t.id = r.activity_id AND c.id = r.customer_id AND c.erased_at IS NULL
                      AND r.status NOT IN ('cancelled', 'waitlisted') AND t.starts_at > \(period.lowerBound)
                )
                SELECT s.code,
                       (SELECT count(*) FROM placed WHERE placed.code = s.code)::int8,
                       (SELECT count(DISTINCT customer_id) FROM placed WHERE placed.code = s.code)::int8,
                       (SELECT count(*) FROM placed WHERE placed.code = s.code AND status = 'attended')::int8
                FROM reference.mosaic_subsegments s JOIN reference.mosaic_deliveries d ON d.id = s.delivery_id AND d.current
                """)
            for try await (code, registrations, participants, attended) in rows.decode((String, Int, Int, Int).self) {
                byCode[code] = (registrations, participants, attended)
            }
            return byCode
        }
        for line in all.subsegments {
            let want = try #require(expected[line.code])
            #expect((line.registrations, line.participants, line.attended) == want, "\(line.code)")
        }
        let x1 = try #require(all.subsegments.first { $0.code == "X1" })
        #expect(x1.registrations == 3 && x1.participants == 2 && x1.attended == 1)
        #expect(all.total.registrations == 4 && all.total.participants == 3)
        #expect(all.registrationsOutside == 1, "the participant living outside the area")
        // X1: 2 participants of 34 inhabitants against 3 of 85: index round(58.82 / 35.29 * 100) = 167.
        #expect(all.index(x1) == 167)
        #expect(lezingen.total.registrations == 2 && lezingen.total.attended == 1)
        #expect(atZee.total.registrations == 2 && atZee.total.participants == 2, "the Taalcafé at Zeedorp only")

        // A segment rule on the subsegment picks the customers the report places there (the guest too).
        let (ruled, segmentXY) = try await env.db.withTenant(tenant) { tx in
            let compiler = SegmentCompiler(today: CalendarDate(now))
            let ruled = try await Segments.count(
                try compiler.compile(.condition(SegmentCondition(field: "mosaic_subsegment", op: "=", value: "X1"))), in: tx)
            let segmentXY = try await Segments.count(
                try compiler.compile(.condition(SegmentCondition(field: "mosaic_segment", op: "in", value: ["X", "Y"]))), in: tx)
            return (ruled, segmentXY)
        }
        #expect(ruled == 2, "the member and the guest at 2011 AA; not the erased customer")
        #expect(segmentXY == 4, "X1 twice, Y1 and X2; not the erased customer at Y1, nor the one living in Verweg (Z1)")
    }
}
