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

/// Contactpersonen against a real PostgreSQL, on the demo's relations: the directory, one person's roles over time,
/// moving a coordinator to another school, and another library's people out of reach.
@Suite("Contact pages") struct ContactPagesTests {
    static func person(_ lastName: String, in tenant: Tenant, env: TestEnvironment) async throws -> UUID {
        try await env.db.withTenant(tenant) { tx in
            try #require(try await tx.query("SELECT id FROM contacts WHERE last_name = \(lastName)").decode(UUID.self).first { _ in true })
        }
    }

    @Test func aCoordinatorWhoMovesKeepsBothRolesAndBothAccountViewsAreRight() async throws {
        let env = try await TestEnvironment.forSuite("WebContacts")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wc")
        let manager = try await env.createUser(in: tenant, role: .relations)
        try await env.db.withTenant(tenant) { tx in
            try await RelationsDemo(municipality: "Haarlem", accountOwner: manager.id).seed(by: .system, now: clock.now, in: tx)
        }
        let (ster, kompas) = try await env.db.withTenant(tenant) { tx in
            (
                try #require(try await Organisations.search(.init(query: "De Ster"), in: tx).first).id,
                try #require(try await Organisations.search(.init(query: "Kompas"), in: tx).first).id
            )
        }
        let lotte = try await Self.person("de Wit", in: tenant, env: env)
        let today = CalendarDate(clock.now)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(manager.email, password: TestEnvironment.password, library: tenant.slug.value)
            // The directory, and a search on the start of the last name.
            let all = try await browser.get("/relaties/personen")
            #expect(all.status == .ok)
            #expect(all.contains("15 contactpersonen"))
            let found = try await browser.get("/relaties/personen?q=de%20wit")
            #expect(found.contains("1 contactpersoon"))
            #expect(found.contains("Lotte de Wit</a>"))
            #expect(found.contains("Leescoördinator, OBS De Ster"))
            #expect(try await browser.get("/relaties/personen?q=zzz").contains("Niemand gevonden"))
            // The account view links to the person.
            let path = "/relaties/personen/\(lotte.lower)"
            #expect(try await browser.get("/relaties/\(ster.lower)").contains("href=\"\(path)\""))
            // A visit with her present shows on her page.
            try await browser.get("/relaties/\(ster.lower)/contact")
            let visit = try await browser.post(
                "/relaties/\(ster.lower)/contact",
                [("kind", "visit_report"), ("date", today.description), ("subject", "Afscheid leesplan"), ("contact", lotte.lower)])
            #expect(visit.status == .seeOther)
            let before = try await browser.get(path)
            #expect(before.contains("<h1>Lotte de Wit</h1>"))
            #expect(before.contains("sinds 1 augustus 2021"))
            #expect(before.contains("Afscheid leesplan"))
            #expect(before.contains("bezoekverslag, \(dutchDate(today)), OBS De Ster"))
            #expect(before.contains("href=\"\(path)/verhuizen\""))
            // Mistakes come back in Dutch: the same school, a day before the old role began.
            let form = try await browser.get("\(path)/verhuizen")
            #expect(form.status == .ok)
            let role = try #require(form.html.firstMatch(of: /name="role" value="([0-9a-f-]{36})" checked/)).output.1
            let same = try await browser.post(
                "\(path)/verhuizen", [("role", String(role)), ("organisation", ster.lower), ("dmu_role", "advisor"), ("date", today.description)])
            #expect(same.status == .unprocessableContent)
            #expect(same.contains("De persoon werkt al bij deze organisatie"))
            let early = try await browser.post(
                "\(path)/verhuizen", [("role", String(role)), ("organisation", kompas.lower), ("dmu_role", "advisor"), ("date", "2021-08-01")])
            #expect(early.status == .unprocessableContent)
            #expect(early.contains("na de start van de oude rol"))
            let noDate = try await browser.post(
                "\(path)/verhuizen", [("role", String(role)), ("organisation", kompas.lower), ("dmu_role", "advisor")])
            #expect(noDate.contains("Vul de datum in"))
            // The move itself.
            let moved = try await browser.post(
                "\(path)/verhuizen",
                [
                    ("role", String(role)), ("organisation", kompas.lower), ("dmu_role", "decision_maker"), ("job_title", "Leescoördinator"),
                    ("date", today.description),
                ])
            #expect(moved.status == .seeOther)
            #expect(moved.location == "\(path)?gedaan=verhuisd")
            let after = try await browser.get(moved.location ?? "/")
            #expect(after.contains("De nieuwe rol is vastgelegd; de oude is beëindigd."))
            #expect(after.contains("CBS Het Kompas</a>"))
            #expect(after.contains("OBS De Ster</a> <span class=\"badge\">beëindigd</span>"))
            #expect(after.contains("1 augustus 2021 tot en met \(dutchDate(today.adding(days: -1)))"))
            #expect(after.contains("sinds \(dutchDate(today))"))
            // Each school's decision-making unit today.
            let sterView = try await browser.get("/relaties/\(ster.lower)")
            #expect(!sterView.contains("Lotte de Wit"))
            #expect(sterView.contains("Anouk Visser"))
            let kompasView = try await browser.get("/relaties/\(kompas.lower)")
            let deciders = try #require(kompasView.html.range(of: "<h3>Beslissers</h3>"))
            let advisers = try #require(kompasView.html.range(of: "<h3>Adviseurs</h3>"))
            #expect(kompasView.html[deciders.upperBound..<advisers.lowerBound].contains("Lotte de Wit"))
        }
        let (ended, started, audited) = try await env.db.withTenant(tenant) { tx in
            let ended = try await tx.query(
                "SELECT active_to::text FROM contact_roles WHERE contact_id = \(lotte) AND organisation_id = \(ster)"
            ).decode(String?.self).first { _ in true }
            let started = try await tx.query(
                "SELECT active_from::text FROM contact_roles WHERE contact_id = \(lotte) AND organisation_id = \(kompas) AND active_to IS NULL"
            ).decode(String.self).first { _ in true }
            let audited = try await tx.query(
                """
                SELECT count(*)::int FROM audit_log WHERE subject_id = \(lotte.lower) AND actor_user_id = \(manager.id)
                  AND action IN ('contact_role.updated', 'contact_role.created')
                """
            ).decode(Int.self).first { _ in true }
            return (ended, started, audited)
        }
        #expect(ended == today.adding(days: -1).description)
        #expect(started == today.description)
        #expect(audited == 2)
    }

    @Test func anotherLibrarysPersonAnswersTheNotFoundPageAndCannotBeMoved() async throws {
        let env = try await TestEnvironment.forSuite("WebContacts")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wca")
        let libraryB = try await env.createTenant("wcb")
        for library in [libraryA, libraryB] {
            try await env.db.withTenant(library) { tx in
                try await RelationsDemo(municipality: "Heemstede", accountOwner: nil).seed(by: .system, now: clock.now, in: tx)
            }
        }
        let lotteA = try await Self.person("de Wit", in: libraryA, env: env)
        let (roleA, kompasA) = try await env.db.withTenant(libraryA) { tx in
            (
                try #require(try await Contacts.roles(contactID: lotteA, in: tx).first).id,
                try #require(try await Organisations.search(.init(query: "Kompas"), in: tx).first).id
            )
        }
        let lotteB = try await Self.person("de Wit", in: libraryB, env: env)
        let relationsB = try await env.createUser(in: libraryB, role: .relations)
        let today = CalendarDate(clock.now).description
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(relationsB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let page = try await browser.get("/relaties/personen/\(lotteA.lower)")
            #expect(page.status == .notFound)
            #expect(page.contains("Deze pagina bestaat niet"))
            #expect(try await browser.get("/relaties/personen/\(lotteA.lower)/verhuizen").status == .notFound)
            try await browser.get("/relaties/personen")
            let posted = try await browser.post(
                "/relaties/personen/\(lotteA.lower)/verhuizen",
                [("role", roleA.lower), ("organisation", kompasA.lower), ("dmu_role", "advisor"), ("date", today)])
            #expect(posted.status == .notFound)
            // Library B's own person with library A's role and school: refused at the fields.
            try await browser.get("/relaties/personen/\(lotteB.lower)/verhuizen")
            let foreign = try await browser.post(
                "/relaties/personen/\(lotteB.lower)/verhuizen",
                [("role", roleA.lower), ("organisation", kompasA.lower), ("dmu_role", "advisor"), ("date", today)])
            #expect(foreign.status == .unprocessableContent)
            #expect(foreign.contains("Kies de rol die eindigt."))
            #expect(try await browser.get("/relaties/personen/geen-id").status == .notFound)
        }
        let unchanged = try await env.db.withTenant(libraryA) { tx in
            try await tx.query("SELECT count(*)::int FROM contact_roles WHERE contact_id = \(lotteA) AND active_to IS NULL").decode(Int.self).first {
                _ in true
            }
        }
        #expect(unchanged == 1)
        let unknown = try await env.db.withTenant(libraryB) { tx in
            try await tx.query("SELECT count(*)::int FROM audit_log WHERE action LIKE 'access.unknown%' AND subject_id = \(lotteA.lower)").decode(
                Int.self
            ).first { _ in true }
        }
        #expect((unknown ?? 0) >= 1)
    }
}

extension UUID {
    fileprivate var lower: String { uuidString.lowercased() }
}

/// "7 december 2026", as the pages write a day.
private func dutchDate(_ day: CalendarDate) -> String {
    let months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"]
    return "\(day.day) \(months[day.month - 1]) \(day.year)"
}
