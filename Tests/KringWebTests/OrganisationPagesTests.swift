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
                "<h1>OBS De Ster</h1>", "Beslissers", "Anouk Visser</strong></a>, Directeur", "Adviseurs",
                "Lotte de Wit</strong></a>, Leescoördinator",
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

/// Contact vastleggen: a visit with the contacts present and a follow-up task, in one form.
@Suite("Interaction form") struct InteractionFormTests {
    @Test func aSchoolVisitWithTwoContactsAndAFollowUpShowsInTheAccountViewAndInMijnTaken() async throws {
        let env = try await TestEnvironment.forSuite("WebRelations")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wi")
        let manager = try await env.createUser(in: tenant, role: .relations)
        try await env.db.withTenant(tenant) { tx in
            try await RelationsDemo(municipality: "Bloemendaal", accountOwner: nil).seed(by: .system, now: clock.now, in: tx)
        }
        let school = try await env.db.withTenant(tenant) { tx in try #require(try await Organisations.search(.init(query: "Kompas"), in: tx).first).id
        }
        let today = CalendarDate(clock.now).description
        let nextWeek = CalendarDate(clock.now + 7 * 86_400).description
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(manager.email, password: TestEnvironment.password, library: tenant.slug.value)
            let path = "/relaties/\(school.uuidString.lowercased())/contact"
            #expect(try await browser.get("/relaties/\(school.uuidString.lowercased())").contains("href=\"\(path)\""))
            let form = try await browser.get(path)
            #expect(form.status == .ok)
            for person in ["Ruben Smit, Directeur", "Noor Jacobs, Leescoördinator", "Ellen Koster, Administratie"] {
                #expect(form.contains(person), "\(person)")
            }
            let contacts = form.html.matches(of: /name="contact" value="([0-9a-f-]{36})"/).map { String($0.output.1) }
            #expect(contacts.count == 3)
            // Mistakes come back in Dutch with what was typed.
            let wrong = try await browser.post(
                path, [("kind", "visit_report"), ("date", nextWeek), ("subject", ""), ("report", "Leesplan besproken"), ("task_title", "Kist")])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.contains("Vul een onderwerp in."))
            #expect(wrong.contains("De datum ligt in de toekomst"))
            #expect(wrong.contains("Leesplan besproken"))
            let saved = try await browser.post(
                path,
                [
                    ("kind", "visit_report"), ("date", today), ("subject", "Schoolbezoek groep 7"), ("report", "Leesplan besproken"),
                    ("contact", contacts[0]), ("contact", contacts[1]), ("task_title", "Boekenkist groep 7 brengen"), ("task_due", nextWeek),
                ])
            #expect(saved.status == .seeOther)
            #expect(saved.location == "/relaties/\(school.uuidString.lowercased())?gedaan=contact-taak")
            let view = try await browser.get(saved.location ?? "/")
            #expect(view.contains("Het contact is vastgelegd, met een vervolgtaak voor u."))
            #expect(view.contains("Schoolbezoek groep 7"))
            #expect(view.contains("Boekenkist groep 7 brengen"))
            let tasks = try await browser.get("/taken")
            #expect(tasks.contains("Boekenkist groep 7 brengen"))
            #expect(tasks.contains("CBS Het Kompas"))
        }
        let (present, assignee) = try await env.db.withTenant(tenant) { tx in
            let present = try await tx.query(
                """
                SELECT count(*)::int FROM interaction_contacts ic JOIN interactions i ON i.id = ic.interaction_id
                WHERE i.subject = 'Schoolbezoek groep 7' AND i.organisation_id = \(school)
                """
            ).decode(Int.self).first { _ in true }
            let assignee = try await tx.query(
                "SELECT assignee_user_id FROM tasks WHERE title = 'Boekenkist groep 7 brengen' AND organisation_id = \(school)"
            ).decode(UUID?.self).first { _ in true }
            return (present, assignee)
        }
        #expect(present == 2)
        #expect(assignee == manager.id)
    }

    @Test func anotherLibrarysOrganisationOrContactCannotBeRecordedAgainst() async throws {
        let env = try await TestEnvironment.forSuite("WebRelations")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wia")
        let libraryB = try await env.createTenant("wib")
        for library in [libraryA, libraryB] {
            try await env.db.withTenant(library) { tx in
                try await RelationsDemo(municipality: "Zandvoort", accountOwner: nil).seed(by: .system, now: clock.now, in: tx)
            }
        }
        let schoolA = try await env.db.withTenant(libraryA) { tx in
            try #require(try await Organisations.search(.init(query: "Kompas"), in: tx).first).id
        }
        let schoolB = try await env.db.withTenant(libraryB) { tx in
            try #require(try await Organisations.search(.init(query: "Kompas"), in: tx).first).id
        }
        let contactA = try await env.db.withTenant(libraryA) { tx in
            try await tx.query("SELECT id FROM contacts ORDER BY id LIMIT 1").decode(UUID.self).first { _ in true }
        }
        let relationsB = try await env.createUser(in: libraryB, role: .relations)
        let today = CalendarDate(clock.now).description
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(relationsB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let pathA = "/relaties/\(schoolA.uuidString.lowercased())/contact"
            #expect(try await browser.get(pathA).status == .notFound)
            try await browser.get("/relaties")
            let posted = try await browser.post(pathA, [("kind", "meeting"), ("date", today), ("subject", "Binnendringen")])
            #expect(posted.status == .notFound)
            // A contact of library A named at library B's own school: refused at the field.
            let pathB = "/relaties/\(schoolB.uuidString.lowercased())/contact"
            try await browser.get(pathB)
            let foreign = try await browser.post(
                pathB, [("kind", "meeting"), ("date", today), ("subject", "Overleg"), ("contact", contactA?.uuidString.lowercased() ?? "")])
            #expect(foreign.status == .unprocessableContent)
            #expect(foreign.contains("Kies de aanwezigen uit de lijst."))
        }
        let recorded = try await env.db.withTenant(libraryA) { tx in
            try await tx.query("SELECT count(*)::int FROM interactions WHERE subject IN ('Binnendringen', 'Overleg')").decode(Int.self).first { _ in
                true
            }
        }
        #expect(recorded == 0)
        let recordedB = try await env.db.withTenant(libraryB) { tx in
            try await tx.query("SELECT count(*)::int FROM interactions WHERE subject = 'Overleg'").decode(Int.self).first { _ in true }
        }
        #expect(recordedB == 0)
    }
}
