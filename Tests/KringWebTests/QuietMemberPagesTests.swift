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

@testable import KringWeb

/// Klanten › Stille leden against a real PostgreSQL: who counts (active members who borrowed before, not for 12 months),
/// per branch and member type; the front desk marks one as contacted on the timeline; marketing makes the same
/// selection a segment; another library's member is out of reach.
@Suite("Quiet member pages") struct QuietMemberPagesTests {
    @Test func theFrontDeskWorksThroughTheMembersWhoStoppedBorrowing() async throws {
        let env = try await TestEnvironment.forSuite("WebQuietMembers")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("qm")
        let other = try await env.createTenant("qn")
        let today = CalendarDate(clock.now)
        func member(
            _ name: String, type: String = "adult", status: String = "active", lastLoan: Int?, branch: UUID?, erased: Bool = false,
            in library: Tenant
        ) async throws -> UUID {
            try await env.db.withTenant(library) { tx in
                let id = UUID()
                try await tx.query(
                    """
                    INSERT INTO customers (id, roles, member_number, member_type, membership_status, first_name, last_name, favourite_branch_id,
                                           last_loan_date, loans_total, erased_at, created_at, updated_at)
                    VALUES (\(id), '{member}', \(name), \(type), \(status), 'Lid', \(name), \(branch),
                            \(lastLoan.map { today.adding(days: -$0).description })::date, \(lastLoan == nil ? 0 : 12), \(erased ? clock.now : nil), now(), now())
                    """)
                return id
            }
        }
        let (centrum, noord) = try await env.db.withTenant(tenant) { tx in
            (
                try await Branches.create(BranchDraft(name: "Centrum", municipality: "Haarlem"), by: .system, now: clock.now, in: tx).id,
                try await Branches.create(BranchDraft(name: "Noord", municipality: "Haarlem"), by: .system, now: clock.now, in: tx).id
            )
        }
        let quiet = try await member("Stilstaand", lastLoan: 400, branch: centrum, in: tenant)
        let longest = try await member("Langststil", type: "youth", lastLoan: 800, branch: noord, in: tenant)
        _ = try await member("Recent", lastLoan: 100, branch: centrum, in: tenant)  // borrowed 100 days ago
        _ = try await member("Nooit", lastLoan: nil, branch: centrum, in: tenant)  // never borrowed: another figure
        _ = try await member("Opgezegd", status: "ended", lastLoan: 500, branch: centrum, in: tenant)
        _ = try await member("Gewist", lastLoan: 500, branch: centrum, erased: true, in: tenant)
        let stranger = try await member("Elders", lastLoan: 600, branch: nil, in: other)
        let frontdesk = try await env.createUser(in: tenant, role: .frontdesk)
        let marketing = try await env.createUser(in: tenant, role: .marketing)
        let relations = try await env.createUser(in: tenant, role: .relations)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let desk = Browser(client)
            try await desk.signIn(frontdesk.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await desk.get("/klanten").contains("href=\"/klanten/stille-leden\""))
            let page = try await desk.get("/klanten/stille-leden")
            #expect(page.status == .ok)
            #expect(page.contains("2 actieve leden lenen al 12 maanden of langer niet meer"))
            #expect(
                page.contains("<th scope=\"row\">Centrum</th><td class=\"number\">1</td>")
                    && page.contains("<th scope=\"row\">Noord</th><td class=\"number\">1</td>"))
            #expect(page.contains("<th scope=\"row\">jeugd</th><td class=\"number\">1</td>"), "member types in Dutch")
            let names = page.html.matches(of: /<a href="\/klanten\/[0-9a-f-]{36}">Lid (\w+)<\/a>/).map { String($0.output.1) }
            #expect(
                names == ["Langststil", "Stilstaand"],
                "longest quiet first; not the recent borrower, the one who never borrowed, the former or the erased")
            #expect(!page.contains("Elders"))
            #expect(!page.contains("Segment maken"), "the front desk builds no segments")

            // Contacted: on the timeline, shown in the list, and gone when only those not yet contacted are asked.
            let done = try await desk.post(
                "/klanten/stille-leden/\(quiet.uuidString.lowercased())/contact", [("terug", "/klanten/stille-leden?maanden=12")])
            #expect(done.location == "/klanten/stille-leden?maanden=12&gedaan=contact")
            let after = try await desk.get("/klanten/stille-leden?maanden=12")
            #expect(after.contains("contact gezocht op \(Dutch.date(clock.now))"))
            let open = try await desk.get("/klanten/stille-leden?maanden=12&open=ja")
            #expect(open.contains("Lid Langststil") && !open.contains("Lid Stilstaand"))
            let moments = try await env.db.withTenant(tenant) { tx in
                try await tx.query(
                    "SELECT count(*)::int8 FROM contact_moments WHERE customer_id = \(quiet) AND subject = \(QuietMembers.subject) AND direction = 'outbound'"
                ).decode(Int.self).first { _ in true } ?? 0
            }
            #expect(moments == 1)
            // Six months: the same two (the recent borrower is at 100 days); 36 months: none.
            #expect(try await desk.get("/klanten/stille-leden?maanden=36").contains("0 actieve leden lenen al 36 maanden"))
            // Another library's member, or a path that is no id: not found.
            try await desk.get("/klanten/stille-leden")
            #expect(try await desk.post("/klanten/stille-leden/\(stranger.uuidString.lowercased())/contact", []).status == .notFound)
            #expect(try await desk.post("/klanten/stille-leden/geen-id/contact", []).status == .notFound)
            #expect(longest != quiet)

            // Marketing: one click to a segment of the same members, which counts them.
            let marketer = Browser(client)
            try await marketer.signIn(marketing.email, password: TestEnvironment.password, library: tenant.slug.value)
            let list = try await marketer.get("/klanten/stille-leden")
            #expect(list.contains("href=\"/campagnes/segmenten/nieuw?stil=12\">Segment maken"))
            let builder = try await marketer.get("/campagnes/segmenten/nieuw?stil=12")
            #expect(!builder.contains("Campagne naar dit segment"), "a segment not yet saved has no campaign to start")
            let segments = try await marketer.get("/campagnes/segmenten")
            #expect(!segments.contains("<strong></strong>"))
            #expect(builder.contains("value=\"Stille leden: 12 maanden niet geleend\""))
            let rule = try #require(builder.html.firstMatch(of: /<textarea id="rule"[^>]*>([^<]*)<\/textarea>/)).output.1
            let counted = try await marketer.post(
                "/campagnes/segmenten/nieuw",
                [("name", "Stille leden"), ("rule", Browser.Page.decode(String(rule))), ("version", "1"), ("action", "count")])
            #expect(counted.contains("2 klanten"), "the segment selects the two quiet members")

            let other = Browser(client)
            try await other.signIn(relations.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await other.get("/klanten/stille-leden").status == .forbidden)
        }
    }
}
