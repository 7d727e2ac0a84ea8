import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringCore
import KringDatabase
import KringInsight
import KringServer
import KringTestSupport
import Testing

@testable import KringWeb

/// Inzicht › Kerncijfers against a real PostgreSQL: the figures now, a month ago from the stored figures, the change and
/// the 13-month lines; the CSV; only the library's own stored figures; the front desk has no access.
@Suite("Figure pages") struct FigurePagesTests {
    @Test func anAnalystSeesTheFiguresNowAMonthAgoAndTheirLines() async throws {
        let env = try await TestEnvironment.forSuite("WebFigures")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("kf")
        let other = try await env.createTenant("kg")
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, loans_12m, created_at, updated_at)
                SELECT gen_random_uuid(), '{member}', 'k' || i, 'adult', 'active', DATE '2020-01-01', 2, now(), now()
                FROM generate_series(1, 1234) AS i
                """)
        }
        // A month ago this library had 1.200 members; the other library's stored figures are far off and never shown.
        let today = CalendarDate(clock.now)
        try await env.db.withPlatform { tx in
            for (library, members) in [(tenant, 1200), (other, 987_654)] {
                for back in [30, 60, 90] {
                    try await tx.query(
                        """
                        INSERT INTO library_figures (tenant_id, day, code, value, people)
                        VALUES (\(library.id), \(today.adding(days: -back).description)::date, 'members', \(members - back), \(members - back))
                        """)
                }
            }
        }
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let frontdesk = try await env.createUser(in: tenant, role: .frontdesk)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await browser.get("/inzicht").location == "/inzicht/kerncijfers")
            let page = try await browser.get("/inzicht/kerncijfers")
            #expect(page.status == .ok)
            // Leden: 1.234 now, 1.170 a month ago (1.200 − 30), +64, and a line through the three stored months and today.
            let members = try #require(page.html.firstMatch(of: /tabindex="0">Leden<\/abbr><\/th>(.*?)<\/tr>/)).output.1
            #expect(members.hasPrefix("<td class=\"number\">1.234</td><td class=\"number\">1.170</td><td class=\"number\">+64</td>"))
            #expect(members.contains("<svg class=\"sparkline\"") && members.contains("<polyline"))
            #expect(page.contains("title=\"Huidige leden: een lidmaatschap dat actief of geschorst is.\""))
            #expect(!page.contains("987"), "another library's figures are not shown")
            #expect(page.contains("href=\"/inzicht/mosaic\""))
            let csv = try await browser.get("/inzicht/kerncijfers.csv")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(
                csv.html.contains(
                    "\"members\";\"Leden\";\"Huidige leden: een lidmaatschap dat actief of geschorst is.\";\"1.234\";\"1.170\";\"'+64\""),
                "a leading + is quoted away for spreadsheets")

            let desk = Browser(client)
            try await desk.signIn(frontdesk.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await desk.get("/inzicht/kerncijfers").status == .forbidden)
            #expect(try await desk.get("/inzicht/kerncijfers.csv").status == .forbidden)
        }
    }

    @Test func aChangeReadsAsPeopleSayIt() {
        #expect(FigurePages.change(from: 1200, to: 1234, unit: .count) == "+34")
        #expect(FigurePages.change(from: 12.5, to: 11.3, unit: .percent) == "−1,2 pt")
        #expect(FigurePages.change(from: 4.0, to: 4.0, unit: .decimal) == "0")
        #expect(FigurePages.change(from: nil, to: 4.0, unit: .decimal) == "–")
        #expect(FigurePages.change(from: 10, to: 25.5, unit: .euros) == "+€ 15,50")
        // A figure below zero (net growth) reads with the same minus sign as a change.
        #expect(PlatformPages.formatted(-1_214, unit: .count) == "\u{2212}1.214")
        #expect(Dutch.decimal(-0.5) == "\u{2212}0,5")
    }
}
