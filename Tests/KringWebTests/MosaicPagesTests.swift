import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringInsight
import KringServer
import KringTestSupport
import Testing

/// Inzicht › Mosaic in the browser against a real PostgreSQL: the analyst's report per segment, per branch and per
/// subsegment with its characteristics, the CSV, the inhabitants report, and another library's members never counted.
@Suite("Mosaic pages") struct MosaicPagesTests {
    @Test func anAnalystSeesWhichSegmentsTheLibraryReachesAndDownloadsTheFigures() async throws {
        let env = try await TestEnvironment.forSuite("WebMosaic")
        let clock = TestClock(Date())
        let scheme =
            "Segment;Segmentnaam;Subsegment;Subsegmentnaam;Mediagebruik\r\nX;Lezers;X1;Boekenwurmen;kranten\r\nX;Lezers;X2;Luisteraars;"
            + "podcasts\r\nY;Sporters;Y1;Buitenmensen;radio\r\n"
        let areas =
            "Postcode;Gemeente;Subsegment;Huishoudens;Inwoners\r\n2011 AA;Duinstad;X1;10;40\r\n2011 AB;Duinstad;Y1;10;60\r\n"
            + "2041 AA;Zeedorp;X2;5;20\r\n"
        _ = try await MosaicImport().run(
            scheme: Array(scheme.utf8), areas: Array(areas.utf8), label: "Testlevering", by: nil, now: clock.now, db: env.db)
        let tenant = try await env.createTenant("ms")
        let other = try await env.createTenant("mt")
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let relations = try await env.createUser(in: tenant, role: .relations)
        let marketing = try await env.createUser(in: tenant, role: .marketing)
        func member(_ postcode: String, _ branch: UUID?, in tx: TenantTransaction) async throws {
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, postcode, favourite_branch_id, loans_12m,
                                       created_at, updated_at)
                VALUES (\(UUID()), '{member}', \(String(UUID().uuidString.prefix(10))), 'adult', 'active', \(postcode), \(branch), 2, now(), now())
                """)
        }
        let noord = try await env.db.withTenant(tenant) { tx in
            let centrum = try await Branches.create(
                BranchDraft(name: "Duinstad Centrum", municipality: "Duinstad"), by: .system, now: clock.now, in: tx)
            let noord = try await Branches.create(BranchDraft(name: "Duinstad Noord", municipality: "Duinstad"), by: .system, now: clock.now, in: tx)
            _ = try await Branches.create(BranchDraft(name: "Zeedorp", municipality: "Zeedorp"), by: .system, now: clock.now, in: tx)
            for _ in 0..<4 { try await member("2011 AA", centrum.id, in: tx) }
            try await member("2011 AA", noord.id, in: tx)
            try await member("2011 AB", noord.id, in: tx)
            // One activity at Centrum ten days ago, attended by one member at 2011 AA (X1), and a cancelled booking.
            let activity = UUID()
            let starts = clock.now.addingTimeInterval(-10 * 86_400)
            try await tx.query(
                """
                INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, created_at, updated_at)
                VALUES (\(activity), 'Voorleesochtend', 'Voorlezen', \(centrum.id), \(starts), \(starts.addingTimeInterval(3600)), now(), now())
                """)
            try await tx.query(
                """
                INSERT INTO registrations (id, activity_id, customer_id, status, source, registered_at, updated_at)
                SELECT gen_random_uuid(), \(activity), id, CASE WHEN row_number() OVER (ORDER BY id) = 1 THEN 'attended' ELSE 'cancelled' END,
                       'staff', now(), now()
                FROM customers WHERE postcode = '2011 AA' ORDER BY id LIMIT 2
                """)
            return noord.id
        }
        // Another library's members at the same postcodes: never in this library's report.
        try await env.db.withTenant(other) { tx in
            for _ in 0..<7 { try await member("2011 AB", nil, in: tx) }
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await browser.get("/").contains("href=\"/inzicht\""))
            #expect(try await browser.get("/inzicht").location == "/inzicht/kerncijfers")
            let page = try await browser.get("/inzicht/mosaic")
            #expect(page.status == .ok)
            for text in [
                "Mosaic-levering ‘Testlevering’", "Het werkgebied: Duinstad, Zeedorp", "Lezers</a>", "Sporters</a>",
                "<td class=\"number\">60</td>", "<svg class=\"chart\"", "100 = gemiddeld",
            ] {
                #expect(page.contains(text), "\(text)")
            }
            // X: 5 members of 60 inhabitants (83,3 per 1.000) against 6 of 120 (50,0): index 167. Y: 1 of 60: index 33.
            #expect(page.contains("<td class=\"number\">83,3</td><td class=\"number\">167</td>"))
            #expect(page.contains("<td class=\"number\">16,7</td><td class=\"number\">33</td>"))
            #expect(page.contains("<td class=\"number\">6</td>"), "the total of this library's members only")
            #expect(!page.contains("<td class=\"number\">8</td>"), "the other library's members are not counted")

            // One branch: Noord's two members in Duinstad.
            let branch = try await browser.get("/inzicht/mosaic?rapport=leden&vestiging=\(noord.uuidString.lowercased())")
            #expect(branch.contains("Vestiging Duinstad Noord"))
            #expect(branch.contains("<tfoot><tr><th scope=\"row\">Totaal</th><td class=\"number\">100</td>"))
            // Drill-down: the subsegments of X with their characteristics.
            let drill = try await browser.get("/inzicht/mosaic?rapport=leden&segment=X")
            #expect(drill.contains("Lezers: de subsegmenten"))
            #expect(drill.contains("Boekenwurmen") && drill.contains("Luisteraars"))
            #expect(drill.contains("<th scope=\"col\">Mediagebruik</th>") && drill.contains("<td>kranten</td>"))
            #expect(drill.contains("Hele gebied (alle segmenten)"))
            let csv = try await browser.get("/inzicht/mosaic.csv?rapport=leden")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.contains("mosaic-leden.csv") == true)
            #expect(csv.html.contains("\"X\";\"Lezers\";60;15;5;5;0;0;83,3;167"))
            // Report 1: Duinstad and Zeedorp against the province; here the area is the whole province, so index 100.
            let inhabitants = try await browser.get("/inzicht/mosaic?rapport=inwoners")
            #expect(inhabitants.contains("Inwoners naar segment"))
            #expect(inhabitants.contains("<td class=\"number\">50,0%</td><td class=\"number\">100</td>"))
            let againstDuinstad = try await browser.get("/inzicht/mosaic?rapport=inwoners&vergelijk=Duinstad")
            // X: 60 of 120 (50%) against 40 of 100 in Duinstad (40%): index 125.
            #expect(againstDuinstad.contains("<td class=\"number\">50,0%</td><td class=\"number\">125</td>"))

            #expect(!page.contains("Segment maken"), "an analyst does not build segments")

            // Activities by segment: one participant in X (60 inhabitants) of one in the area (120): index 200.
            let activities = try await browser.get("/inzicht/mosaic?rapport=activiteiten")
            #expect(activities.contains("Deelnemers aan activiteiten naar segment"))
            #expect(activities.contains("<option value=\"Voorlezen\">Voorlezen</option>"))
            #expect(
                activities.contains(
                    "<td class=\"number\">60</td><td class=\"number\">1</td><td class=\"number\">1</td><td class=\"number\">1</td>"
                        + "<td class=\"number\">16,7</td><td class=\"number\">200</td>"))
            let elsewhere = try await browser.get("/inzicht/mosaic?rapport=activiteiten&vestiging=\(noord.uuidString.lowercased())")
            #expect(elsewhere.contains("bij vestiging Duinstad Noord"))
            #expect(elsewhere.contains("<tfoot><tr><th scope=\"row\">Totaal</th><td class=\"number\">120</td><td class=\"number\">0</td>"))
            let activitiesCSV = try await browser.get("/inzicht/mosaic.csv?rapport=activiteiten&segment=X")
            #expect(activitiesCSV.headers[.contentDisposition]?.contains("mosaic-activiteiten-x.csv") == true)
            #expect(activitiesCSV.html.contains("\"X1\";\"Boekenwurmen\";40;1;1;1;25,0;"))

            // Marketing goes from a subsegment to a segment of its active members, and the segment counts them.
            let marketer = Browser(client)
            try await marketer.signIn(marketing.email, password: TestEnvironment.password, library: tenant.slug.value)
            let report = try await marketer.get("/inzicht/mosaic?rapport=leden&segment=X")
            #expect(report.contains("href=\"/campagnes/segmenten/nieuw?mosaic_subsegment=X1\">Segment maken"))
            #expect(try await marketer.get("/inzicht/mosaic").contains("href=\"/campagnes/segmenten/nieuw?mosaic_segment=X\">Segment maken"))
            let builder = try await marketer.get("/campagnes/segmenten/nieuw?mosaic_subsegment=X1")
            #expect(builder.contains("value=\"Mosaic X1 Boekenwurmen\""))
            #expect(builder.html.contains("X1 Boekenwurmen"), "the catalogue offers the delivery's subsegments")
            let rule = #"{"all":[{"field":"membership_status","op":"=","value":"active"},{"field":"mosaic_subsegment","op":"=","value":"X1"}]}"#
            let counted = try await marketer.post(
                "/campagnes/segmenten/nieuw", [("name", "Mosaic X1 Boekenwurmen"), ("rule", rule), ("version", "1"), ("action", "count")])
            #expect(counted.contains("5 klanten"), "the five active members at 2011 AA")
            // An unknown code starts the ordinary builder.
            #expect(!(try await marketer.get("/campagnes/segmenten/nieuw?mosaic_subsegment=Q9").contains("Mosaic Q9")))

            let stranger = Browser(client)
            try await stranger.signIn(relations.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await stranger.get("/inzicht/mosaic").status == .forbidden)
            #expect(try await stranger.get("/inzicht/mosaic.csv").status == .forbidden)
        }
    }
}
