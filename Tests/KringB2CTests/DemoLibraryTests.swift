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
        let neverBorrowed = try await count("SELECT count(*)::int FROM customers WHERE loans_total = 0")
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
        // The same seed writes the same library.
        let first = Array(DemoLibrary(tenant: TenantSlug("hilversum")!, members: 5).rows(today: CalendarDate(now)))
        let again = Array(DemoLibrary(tenant: TenantSlug("hilversum")!, members: 5).rows(today: CalendarDate(now)))
        #expect(first == again)
    }
}
