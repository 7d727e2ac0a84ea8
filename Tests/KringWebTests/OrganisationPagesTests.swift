import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Relaties against a real PostgreSQL, on the demo's relations: the tree, the filtered table, the account view, and
/// another library's organisation out of reach.
@Suite("Organisation pages") struct OrganisationPagesTests {
    @Test func theListIsATreeAndTheAccountViewShowsWhoDecidesTasksContactsOrdersAndAgreements() async throws {
        let env = try await TestEnvironment.forSuite("WebRelations")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wr")
        let manager = try await env.createUser(in: tenant, role: .relations)
        try await env.db.withTenant(tenant) { tx in
            try await RelationsDemo(municipality: "Haarlem", accountOwner: manager.id).seed(by: .system, now: clock.now, in: tx)
        }
        let (school, gemeente) = try await env.db.withTenant(tenant) { tx in
            let school = try #require(try await Organisations.search(.init(query: "De Ster"), in: tx).first)
            let gemeente = try #require(try await Organisations.search(.init(query: "Gemeente Haarlem"), in: tx).first)
            return (school.id, gemeente.id)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(manager.email, password: TestEnvironment.password, library: tenant.slug.value)
            let home = try await browser.get("/")
            #expect(home.contains("href=\"/relaties\""))
            // The whole list: the schools lie under their board, in a list inside the board's item.
            let list = try await browser.get("/relaties")
            #expect(list.status == .ok)
            #expect(list.contains("7 organisaties"))
            let board = try #require(list.html.range(of: "Stichting Spaarnestroom Onderwijs</a>"))
            let nested = try #require(list.html[board.upperBound...].range(of: "<ul>"))
            let closing = try #require(list.html[nested.upperBound...].range(of: "</ul>"))
            let under = list.html[nested.upperBound..<closing.lowerBound]
            for name in ["OBS De Ster", "CBS Het Kompas", "Basisschool De Regenboog"] { #expect(under.contains(name), "\(name)") }
            #expect(!under.contains("Gemeente Haarlem"))
            // A filter gives a table, with what each lies under.
            let schools = try await browser.get("/relaties?soort=primary_school")
            #expect(schools.contains("3 organisaties"))
            #expect(schools.contains("<td>Stichting Spaarnestroom Onderwijs</td>"))
            #expect(!schools.contains("Gemeente Haarlem"))
            #expect(try await browser.get("/relaties?q=zzzz").contains("Geen organisaties gevonden"))
            // The account view of a school.
            let view = try await browser.get("/relaties/\(school.uuidString.lowercased())")
            #expect(view.status == .ok)
            for text in [
                "<h1>OBS De Ster</h1>", "Beslissers", "Anouk Visser</strong>, Directeur", "Adviseurs", "Lotte de Wit</strong>, Leescoördinator",
                "Poortwachters", "Offerte extra collectie De Ster", "morgen", "Schoolbezoek leesplan", "bezoekverslag", "De Bibliotheek op school",
                "€ 3.500,00", "Totaal dit jaar", "Hoort bij", "Stichting Spaarnestroom Onderwijs",
            ] {
                #expect(view.contains(text), "\(text)")
            }
            // The municipality: its agreement with the renewal date, and the overdue follow-up of the annual talk.
            let municipality = try await browser.get("/relaties/\(gemeente.uuidString.lowercased())")
            #expect(municipality.contains("Prestatieafspraken bibliotheekwerk"))
            #expect(municipality.contains("subsidie"))
            #expect(municipality.contains("vóór "))
            #expect(municipality.contains("3 dagen te laat"))
        }
        // Showing the decision-making unit is reading personal data: audited per person shown.
        let audited = try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT count(*)::int FROM audit_log
                WHERE action = 'contact.read' AND details->>'organisation' = \(school.uuidString.lowercased()) AND actor_user_id = \(manager.id)
                """
            ).decode(Int.self).first { _ in true }
        }
        #expect(audited == 3)
    }

    @Test func anotherLibrarysOrganisationAnswersTheNotFoundPage() async throws {
        let env = try await TestEnvironment.forSuite("WebRelations")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wra")
        let libraryB = try await env.createTenant("wrb")
        try await env.db.withTenant(libraryA) { tx in
            try await RelationsDemo(municipality: "Heemstede", accountOwner: nil).seed(by: .system, now: clock.now, in: tx)
        }
        let organisationA = try await env.db.withTenant(libraryA) { tx in
            try #require(try await Organisations.search(.init(query: "Gemeente Heemstede"), in: tx).first).id
        }
        let relationsB = try await env.createUser(in: libraryB, role: .relations)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(relationsB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let page = try await browser.get("/relaties/\(organisationA.uuidString.lowercased())")
            #expect(page.status == .notFound)
            #expect(page.contains("Deze pagina bestaat niet"))
            #expect(!page.contains("Heemstede"))
            let list = try await browser.get("/relaties")
            #expect(list.contains("Er zijn nog geen organisaties."))
            #expect(!list.contains("Heemstede"))
            #expect(try await browser.get("/relaties/geen-id").status == .notFound)
        }
    }
}
