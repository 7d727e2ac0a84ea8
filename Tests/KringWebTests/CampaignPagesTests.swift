import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringTestSupport
import Testing

/// A campaign in the web app against a real PostgreSQL and a real SMTP server: the form, the summary with the count,
/// sending with pause and resume, the progress, and the report after an open and a click on the tracking routes; an
/// analyst reads without a send button; another library's campaign is out of reach.
@Suite("Campaign pages") struct CampaignPagesTests {
    struct Progress: Decodable {
        let percent: Int
        let text: String
        let finished: Bool
    }

    /// A list with three confirmed subscribers and one who is not, a template with a tracked link, the sender, tracking on.
    static func library(_ env: TestEnvironment, _ tenant: Tenant, now: Date) async throws -> (list: UUID, template: UUID) {
        let list = UUID()
        let template = try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
                VALUES (\(list), 'nieuwsbrief', 'Nieuwsbrief', 'Ja, stuur mij de nieuwsbrief.', 'v1', \(now), \(now))
                """)
            for (key, value) in [
                ("mail_from_address", "\"nieuws@bibliotheek.example\""), ("mail_from_name", "\"Bibliotheek Test\""), ("mail_tracking", "true"),
            ] {
                try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES (\(key), \(value)::jsonb, \(now))")
            }
            for (index, name) in ["Anna", "Bram", "Chris", "Dirk"].enumerated() {
                let id = UUID()
                try await tx.query(
                    """
                    INSERT INTO customers (id, roles, member_number, member_type, membership_status, first_name, last_name, email, created_at, updated_at)
                    VALUES (\(id), '{member}', \("900\(index)"), 'adult', 'active', \(name), 'Jansen', \("\(name.lowercased())@example.nl"), \(now), \(now))
                    """)
                if index < 3 {
                    try await tx.query(
                        """
                        INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
                        VALUES (\(id), 'list:nieuwsbrief', 'confirmed', \(now), 'staff', 'v1', \(now))
                        """)
                }
            }
            return try await Templates.create(
                TemplateDraft(
                    name: "Decembernieuws", subject: "Nieuws voor {{customer.first_name}}",
                    html:
                        "<p>Beste {{customer.first_name}},</p><p><a href=\"https://bibliotheek.example/agenda\">Agenda</a></p><p><a href=\"{{unsubscribe_url}}\">Afmelden</a></p>",
                    text: "Beste {{customer.first_name}}, afmelden: {{unsubscribe_url}}"), by: .system, now: now, in: tx
            ).id
        }
        return (list, template)
    }

    /// The path and query of a URL in a mail's HTML.
    static func path(_ url: Substring) -> String {
        let decoded = url.replacingOccurrences(of: "&amp;", with: "&")
        guard let parsed = URLComponents(string: decoded) else { return decoded }
        return parsed.percentEncodedPath + (parsed.percentEncodedQuery.map { "?\($0)" } ?? "")
    }

    @Test func aMarketerSendsACampaignWatchesItAndReadsTheReportAnAnalystOnlyReads() async throws {
        let env = try await TestEnvironment.forSuite("WebCampaigns")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wk")
        let marketer = try await env.createUser(in: tenant, role: .marketing)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let (list, template) = try await Self.library(env, tenant, now: clock.now)
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let worker = SendWorker(
            db: env.db,
            transport: try SMTPTransport(
                SMTPConfiguration(
                    host: "127.0.0.1", port: sink.port, tls: .none, heloName: "kring.test",
                    timeouts: .init(connect: .seconds(2), command: .seconds(5), data: .seconds(5)))),
            links: TestEnvironment.links, options: SendWorker.Options(), now: clock.closure, logger: .init(label: "web-campaign-test"))
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketer.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await browser.get("/campagnes").contains("href=\"/campagnes/nieuw\""))
            let form = try await browser.get("/campagnes/nieuw")
            #expect(form.status == .ok)
            #expect(form.contains("Nieuwsbrief (3 bevestigd)"))
            #expect(form.contains("Decembernieuws"))
            #expect(form.contains("value=\"nieuws@bibliotheek.example\""))
            // Mistakes come back in Dutch.
            let wrong = try await browser.post("/campagnes/nieuw", [("name", ""), ("list", ""), ("when", "later"), ("at", "2020-01-01T10:00")])
            #expect(wrong.status == .unprocessableContent)
            for message in ["Geef de campagne een naam.", "Kies een verzendlijst.", "Kies een sjabloon.", "Kies een moment in de toekomst"] {
                #expect(wrong.contains(message), "\(message)")
            }
            let created = try await browser.post(
                "/campagnes/nieuw",
                [
                    ("name", "Decembernieuws 2026"), ("list", list.uuidString.lowercased()), ("segment", ""),
                    ("template", template.uuidString.lowercased()), ("from_name", "Bibliotheek Test"), ("from_address", "nieuws@bibliotheek.example"),
                    ("when", "now"),
                ])
            #expect(created.status == .seeOther)
            let path = try #require(created.location)
            #expect(path.hasPrefix("/campagnes/"))
            let summary = try await browser.get(path)
            #expect(summary.contains("3 ontvangers"))
            #expect(summary.contains("verzendlijst Nieuwsbrief"))
            #expect(summary.contains(">Nu verzenden</button>"))
            let sent = try await browser.post("\(path)/verzenden", [("moment", "")])
            #expect(sent.location == "\(path)?gedaan=verzenden")
            let sending = try await browser.get(sent.location ?? path)
            #expect(sending.contains("De campagne wordt verzonden."))
            #expect(sending.contains("0 van 3 verzonden"))
            #expect(sending.contains(">Pauzeren</button>"))
            // Pause and resume.
            #expect(try await browser.post("\(path)/pauzeren", []).location == "\(path)?gedaan=pauzeren")
            #expect(try await browser.get(path).contains(">Hervatten</button>"))
            #expect(try await browser.post("\(path)/hervatten", []).location == "\(path)?gedaan=hervatten")
            // The workers send; the progress follows; tick marks the campaign sent.
            while try await worker.runOnce() > 0 {}
            let id = try #require(UUID(uuidString: String(path.dropFirst("/campagnes/".count))))
            _ = try await env.db.withTenant(tenant) { tx in try await Campaigns.tick(now: clock.now, in: tx) }
            let progress = try JSONDecoder().decode(Progress.self, from: Data(try await browser.get("\(path)/voortgang").html.utf8))
            #expect(progress.percent == 100)
            #expect(progress.text == "3 van 3 verzonden")
            #expect(progress.finished)
            // The sink may also get other tests' mail (the worker serves every library): this campaign's only.
            let mails = try sink.received().filter { $0.header("X-Kring-Campaign") == id.uuidString.lowercased() }
            #expect(mails.count == 3)
            // One open and one click, on the tracking routes, as a mail program would make them.
            let html = try #require(mails.first?.parts.first { $0.contentType == "text/html" }?.text)
            let pixel = try #require(html.firstMatch(of: /src="(https:\/\/kring\.test[^"]*\/o\/[^"]+)"/)).output.1
            let link = try #require(html.firstMatch(of: /href="(https:\/\/kring\.test[^"]*\/c\/[^"]+)"/)).output.1
            #expect(try await client.execute(uri: Self.path(pixel), method: .get) { $0.status } == .ok)
            #expect(try await client.execute(uri: Self.path(link), method: .get) { $0.status } == .found)
            let report = try await browser.get(path)
            #expect(report.contains("verzonden</span>"))
            for text in [
                "<svg class=\"chart\"", "Unieke opens", "Unieke kliks", "https://bibliotheek.example/agenda", "dag 1",
                "Van 3 verzonden mails werden er 1 geopend",
            ] {
                #expect(report.contains(text), "\(text)")
            }
            #expect(!report.contains(">Pauzeren</button>"))
            // An analyst reads the report, without a send or pause button, and cannot act.
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let read = try await reader.get(path)
            #expect(read.status == .ok)
            #expect(read.contains("Unieke opens"))
            #expect(!read.contains("/verzenden\"") && !read.contains("/pauzeren\""))
            #expect(!(try await reader.get("/campagnes")).contains("href=\"/campagnes/nieuw\""))
            #expect(try await reader.post("\(path)/pauzeren", []).status == .forbidden)
        }
        let events = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT kind FROM campaign_events WHERE kind IN ('opened', 'clicked') ORDER BY kind").decode(String.self).reduce(
                into: [String]()
            ) { $0.append($1) }
        }
        #expect(events == ["clicked", "opened"])
    }

    @Test func aListShowsItsSubscribersItsDoubleOptInTextsAndASignUpFormThatWorks() async throws {
        let env = try await TestEnvironment.forSuite("WebCampaigns")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wl")
        let other = try await env.createTenant("wlx")
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let (list, _) = try await Self.library(env, tenant, now: clock.now)
        let (foreign, _) = try await Self.library(env, other, now: clock.now)
        try await env.db.withTenant(tenant) { tx in _ = try await tx.query("UPDATE lists SET public = true WHERE id = \(list)") }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let lists = try await browser.get("/campagnes/lijsten")
            #expect(lists.status == .ok)
            #expect(lists.contains(">Nieuwsbrief</a>"))
            #expect(lists.contains("<td class=\"number\">3</td>"))
            let page = try await browser.get("/campagnes/lijsten/\(list.uuidString.lowercased())")
            #expect(page.status == .ok)
            for text in ["Ja, stuur mij de nieuwsbrief.", "Bevestig je aanmelding voor Nieuwsbrief", "(de persoonlijke bevestigingslink)"] {
                #expect(page.contains(text), "\(text)")
            }
            // The snippet posts to the public sign-up of this library with the list's key; posting it as a visitor's
            // browser would records a statement waiting for confirmation.
            let snippet = Browser.Page.decode(
                String(try #require(page.html.firstMatch(of: /<textarea id="snippet"[^>]*>([^<]*)<\/textarea>/)).output.1))
            let action = try #require(snippet.firstMatch(of: /action="https:\/\/kring\.test(\/s\/[^"]+\/subscribe)"/)).output.1
            #expect(action == "/s/\(tenant.slug.value)/subscribe")
            #expect(snippet.contains("name=\"lists\" value=\"nieuwsbrief\""))
            let posted = try await client.execute(
                uri: String(action), method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "lists=nieuwsbrief&form=website&email=nieuwe.lezer%40example.nl")
            ) { $0.status }
            #expect(posted == .accepted)
            // The sign-up made the library's confirmation mail (a template it may reword): the page now reads that.
            let again = try await browser.get("/campagnes/lijsten/\(list.uuidString.lowercased())")
            #expect(again.contains("Bevestig je aanmelding voor Nieuwsbrief"))
            #expect(again.contains("Aangemeld, nog niet bevestigd</dt><dd>1</dd>"))
            #expect(try await browser.get("/campagnes/lijsten/\(foreign.uuidString.lowercased())").status == .notFound)
        }
        let pending = try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT count(*)::int FROM consents k JOIN customers c ON c.id = k.customer_id
                WHERE c.email = 'nieuwe.lezer@example.nl' AND k.topic = 'list:nieuwsbrief' AND k.status = 'opted_in'
                """
            ).decode(Int.self).first { _ in true }
        }
        #expect(pending == 1)
    }

    @Test func theJourneysShowTheirStepsAndGoOnAndOffInOneClick() async throws {
        let env = try await TestEnvironment.forSuite("WebCampaigns")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wj")
        let marketer = try await env.createUser(in: tenant, role: .marketing)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let (_, template) = try await Self.library(env, tenant, now: clock.now)
        let journey = try await env.db.withTenant(tenant) { tx in
            try await Campaigns.create(
                CampaignDraft(
                    name: "Welkom nieuwe leden", kind: .journey, purpose: .service,
                    journey: Journey(trigger: .welcome, steps: [.init(templateID: template), .init(waitDays: 14, templateID: template)])),
                by: .system, now: clock.now, in: tx
            ).id
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketer.email, password: TestEnvironment.password, library: tenant.slug.value)
            let page = try await browser.get("/campagnes/reeksen")
            #expect(page.status == .ok)
            for text in [
                "Welkom nieuwe leden", "Welkom: bij een nieuw lidmaatschap", "Stap 1: meteen", "Stap 2: 14 dagen later", "Decembernieuws",
                ">uit</span>",
            ] {
                #expect(page.contains(text), "\(text)")
            }
            let on = try await browser.post("/campagnes/\(journey.uuidString.lowercased())/verzenden", [("terug", "/campagnes/reeksen")])
            #expect(on.location == "/campagnes/reeksen?gedaan=verzenden")
            let active = try await browser.get(on.location ?? "/")
            #expect(active.contains("De reeks staat aan."))
            #expect(active.contains(">aan</span>"))
            #expect(active.contains(">Uitzetten<"))
            let off = try await browser.post("/campagnes/\(journey.uuidString.lowercased())/pauzeren", [("terug", "https://elders.example/")])
            #expect(off.location == "/campagnes/\(journey.uuidString.lowercased())?gedaan=pauzeren")
            #expect(try await browser.get("/campagnes/reeksen").contains(">uit</span>"))
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let read = try await reader.get("/campagnes/reeksen")
            #expect(read.contains("Welkom nieuwe leden"))
            #expect(!read.contains("Aanzetten") && !read.contains("Uitzetten"))
        }
        let state = try await env.db.withTenant(tenant) { tx in try await Campaigns.find(id: journey, in: tx).state }
        #expect(state == .paused)
    }

    @Test func theTemplateEditorPreviewsWhatIsTypedForANamedCustomerAndSavesVersions() async throws {
        let env = try await TestEnvironment.forSuite("WebCampaigns")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wt")
        let other = try await env.createTenant("wtx")
        let marketer = try await env.createUser(in: tenant, role: .marketing)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let (_, template) = try await Self.library(env, tenant, now: clock.now)
        let (_, foreignTemplate) = try await Self.library(env, other, now: clock.now)
        let path = "/campagnes/sjablonen/\(template.uuidString.lowercased())"
        let html =
            "<p>Beste {{customer.first_name}},</p><p><a href=\"https://bibliotheek.example/kerst\">Kerst</a></p><p><a href=\"{{unsubscribe_url}}\">Afmelden</a></p>"
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketer.email, password: TestEnvironment.password, library: tenant.slug.value)
            let list = try await browser.get("/campagnes/sjablonen")
            #expect(list.contains(">Decembernieuws</a>"))
            #expect(try await browser.get(path).contains("Beste {{customer.first_name}}"))
            // The preview of what is typed, for Anna by her member number: HTML and text, and the links that are tracked.
            let fields = [
                ("name", "Kerstnieuws"), ("subject", "Kerst voor {{customer.first_name}}"), ("html", html),
                ("text", "Beste {{customer.first_name}}, fijne kerst."),
            ]
            let json = try await browser.post(
                path, fields + [("action", "preview"), ("recipient", "9000"), ("version", "1")], accept: "application/json")
            struct Shown: Decodable {
                let subject: String
                let html: String
                let text: String
                let links: [String]
                let message: String
            }
            let shown = try JSONDecoder().decode(Shown.self, from: Data(json.html.utf8))
            #expect(shown.message == "")
            #expect(shown.subject == "Kerst voor Anna")
            #expect(shown.html.contains("Beste Anna"))
            #expect(shown.text.contains("Beste Anna, fijne kerst."))
            #expect(shown.links == ["https://bibliotheek.example/kerst"])
            let page = try await browser.post(path, fields + [("action", "preview"), ("recipient", "anna@example.nl"), ("version", "1")])
            #expect(page.status == .ok)
            #expect(page.contains("Kerst voor Anna"))
            #expect(page.contains("srcdoc=\""))
            let nobody = try await browser.post(
                path, fields + [("action", "preview"), ("recipient", "0000"), ("version", "1")], accept: "application/json")
            #expect(nobody.contains("Niemand gevonden"))
            let broken = try await browser.post(
                path, [("name", ""), ("subject", "Hoi"), ("html", "<p>{{#x}}</p>"), ("text", "Hoi"), ("action", "save"), ("version", "1")])
            #expect(broken.status == .unprocessableContent)
            #expect(broken.contains("Geef het sjabloon een naam"))
            #expect(broken.contains("Er klopt iets niet aan een"))
            // Saving makes version 2; version 1 can still be read; an old version number is refused.
            let saved = try await browser.post(path, fields + [("action", "save"), ("version", "1")])
            #expect(saved.location == "\(path)?gedaan=opgeslagen")
            let current = try await browser.get(path)
            #expect(current.contains("<h1>Kerstnieuws</h1>"))
            #expect(current.contains("href=\"\(path)?versie=1\""))
            #expect(try await browser.get("\(path)?versie=1").contains("U bekijkt versie 1. Opslaan maakt er versie 3 van."))
            let stale = try await browser.post(path, fields + [("action", "save"), ("version", "1")])
            #expect(stale.status == .unprocessableContent)
            #expect(stale.contains("nu versie 2"))
            let created = try await browser.post("/campagnes/sjablonen/nieuw", fields + [("action", "save")])
            #expect(created.location?.hasPrefix("/campagnes/sjablonen/") == true)
            // Another library's template is not found, and its customers are nobody here.
            #expect(try await browser.get("/campagnes/sjablonen/\(foreignTemplate.uuidString.lowercased())").status == .notFound)
            let foreign = try await browser.post(
                "/campagnes/sjablonen/\(foreignTemplate.uuidString.lowercased())", fields + [("action", "preview"), ("recipient", "9000")])
            #expect(foreign.status == .notFound)
            // An analyst reads the template but neither previews (personal data) nor saves.
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let read = try await reader.get(path)
            #expect(read.status == .ok)
            #expect(!read.contains("value=\"save\"") && !read.contains("value=\"preview\""))
            #expect(try await reader.post(path, fields + [("action", "preview"), ("recipient", "9000")]).status == .forbidden)
        }
        let previewed = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM audit_log WHERE action = 'template.previewed' AND actor_user_id = \(marketer.id)").decode(
                Int.self
            )
            .first { _ in true }
        }
        #expect(previewed == 2)
    }

    @Test func anotherLibrarysCampaignAnswersTheNotFoundPage() async throws {
        let env = try await TestEnvironment.forSuite("WebCampaigns")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wka")
        let libraryB = try await env.createTenant("wkb")
        let (list, template) = try await Self.library(env, libraryA, now: clock.now)
        let campaignA = try await env.db.withTenant(libraryA) { tx in
            try await Campaigns.create(
                CampaignDraft(name: "Geheime campagne", listID: list, templateID: template), by: .system, now: clock.now, in: tx
            ).id
        }
        let marketerB = try await env.createUser(in: libraryB, role: .marketing)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketerB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let path = "/campagnes/\(campaignA.uuidString.lowercased())"
            let page = try await browser.get(path)
            #expect(page.status == .notFound)
            #expect(!page.contains("Geheime campagne"))
            #expect(try await browser.get("\(path)/voortgang").status == .notFound)
            try await browser.get("/campagnes")
            #expect(try await browser.post("\(path)/verzenden", [("moment", "")]).status == .notFound)
            #expect(!(try await browser.get("/campagnes")).contains("Geheime campagne"))
            // Library A's list and template named in B's form: refused at the fields.
            try await browser.get("/campagnes/nieuw")
            let foreign = try await browser.post(
                "/campagnes/nieuw",
                [
                    ("name", "Overname"), ("list", list.uuidString.lowercased()), ("template", template.uuidString.lowercased()),
                    ("when", "now"),
                ])
            #expect(foreign.status == .unprocessableContent)
            #expect(foreign.contains("Kies de verzendlijst en het segment uit de lijst."))
        }
        let state = try await env.db.withTenant(libraryA) { tx in
            try await tx.query("SELECT state FROM campaigns WHERE id = \(campaignA)").decode(String.self).first { _ in true }
        }
        #expect(state == "draft")
    }
}
