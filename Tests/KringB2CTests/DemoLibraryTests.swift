import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@Suite struct DemoLibraryTests {
    @Test func demoDataFollowsTheLibrariesFiguresAndPassesTheRealImport() async throws {
        let env = try await TestEnvironment.forSuite("Demo")
        let tenant = try await env.createTenant("demo")
        let now = CustomerTests.now
        let report = try await DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: 2000).seed(tenant: tenant, db: env.db, now: now)
        #expect(report.inserted == 2000)
        #expect(report.rejected == 0)
        func count(_ sql: String) async throws -> Int {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self).reduce(0, +)
            }
        }
        let branches = try await env.db.withTenant(tenant) { tx in try await Branches.list(in: tx).map(\.name) }
        let youth = try await count("SELECT count(*)::int FROM customers WHERE member_type = 'youth'")
        let ended = try await count("SELECT count(*)::int FROM customers WHERE membership_status = 'ended'")
        let neverBorrowed = try await count("SELECT count(*)::int FROM customers WHERE loans_total = 0 AND roles @> '{member}'")
        let activities = try await count("SELECT count(*)::int FROM activities")
        let registrations = try await count("SELECT count(*)::int FROM registrations")
        #expect(
            Set(branches) == [
                "Haarlem Centrum", "Haarlem Noord", "Haarlem Oost", "Haarlem Schalkwijk", "Bibliotheek op het station",
                "Bloemendaal", "Bennebroek", "Zandvoort", "Hillegom",
            ])
        // 58% youth, about 16% lost, 6.2% never borrowed, within sampling noise of 2000 members.
        #expect((1060...1260).contains(youth))
        #expect((240...400).contains(ended))
        #expect((80...170).contains(neverBorrowed))
        #expect(activities >= 10)
        #expect(registrations > activities * 5)
        // Guests who are not members, each placed by a postcode of the library's area and at one past activity at least.
        let guests = try await count("SELECT count(*)::int FROM customers WHERE roles = '{guest}'")
        let placed = try await count(
            "SELECT count(*)::int FROM customers WHERE roles = '{guest}' AND postcode ~ '^(20[1-4][0-9]|20[5-9][0-9]|21[0-8][0-9]) [A-Z]{2}$'")
        let attended = try await count(
            """
            SELECT count(DISTINCT c.id)::int FROM customers c JOIN registrations r ON r.customer_id = c.id AND r.status = 'attended'
            WHERE c.roles = '{guest}'
            """)
        #expect(guests == 80)
        #expect(placed == guests)
        #expect(attended == guests)
        // The same seed writes the same library.
        let first = Array(DemoLibrary(tenant: TenantSlug("hilversum")!, members: 5).rows(today: CalendarDate(now)))
        let again = Array(DemoLibrary(tenant: TenantSlug("hilversum")!, members: 5).rows(today: CalendarDate(now)))
        #expect(first == again)
    }
}
