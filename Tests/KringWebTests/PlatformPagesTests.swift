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
import NIOCore
import PostgresNIO
import Testing

/// Probiblio's console against a real PostgreSQL: the libraries with their figures, a library provisioned with its
/// first administrator invited by mail, suspended and resumed with a reason, the figures of all libraries side by side
/// with "< 10" for a figure over fewer than 10 people, the platform's health, a Mosaic delivery loaded in the browser,
/// and the console's database role that cannot read anything of a library's own.
@Suite("Platform pages") struct PlatformPagesTests {
    /// `count` current members of `type` in `tenant`.
    static func members(_ count: Int, type: String, in tenant: Tenant, env: TestEnvironment) async throws {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, email, loans_12m,
                                       created_at, updated_at)
                SELECT gen_random_uuid(), '{member}', \(type) || '-' || i, \(type), 'active', DATE '2020-01-01', \(type) || i || '@example.nl', 4,
                       now(), now()
                FROM generate_series(1, \(count)) AS i
                """)
        }
    }

    static func signInAsProbiblio(_ browser: Browser, email: String, clock: TestClock) async throws {
        try await browser.signIn(email, password: TestEnvironment.password, library: "probiblio")
        try await browser.get("/inloggen/code")
        let done = try await browser.post("/inloggen/code", [("code", TestEnvironment.platformCode(at: clock.now))])
        #expect(done.location == "/")
    }

    @Test func probiblioProvisionsSuspendsAndComparesLibrariesWithoutPersonalData() async throws {
        let env = try await TestEnvironment.forSuite("WebPlatform")
        let clock = TestClock(Date())
        let duinstad = try await env.createTenant("pd")
        let zeedorp = try await env.createTenant("pz")
        try await Self.members(23, type: "adult", in: duinstad, env: env)
        try await Self.members(7, type: "nt2", in: duinstad, env: env)
        try await Self.members(12, type: "youth", in: zeedorp, env: env)
        for tenant in [duinstad, zeedorp] { try await LibraryFigures.snapshot(tenant, at: clock.now, db: env.db) }
        let admin = try await env.createUser(in: nil, role: .platformAdmin)
        let librarian = try await env.createUser(in: duinstad, role: .tenantAdmin)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await Self.signInAsProbiblio(browser, email: admin.email, clock: clock)
            #expect(try await browser.get("/").location == "/platform")

            // Bibliotheken: both, with their members from the nightly figures.
            let list = try await browser.get("/platform")
            #expect(list.status == .ok)
            #expect(list.contains("Bibliotheek pd</a>") && list.contains("Bibliotheek pz</a>"))
            #expect(list.contains("<td class=\"number\">30</td>") && list.contains("<td class=\"number\">12</td>"))
            #expect(!list.contains("@example.nl"), "no personal data")

            // Cijfers: a row per library, the province below; 7 NT2 members are "< 10", and so is the province's 7.
            let leden = try await browser.get("/platform/cijfers?groep=Leden")
            #expect(leden.contains(">Leden</abbr>") && leden.contains(">Groei (30 dagen)</abbr>") && !leden.contains(">NT2-leden</abbr>"))
            let figures = try await browser.get("/platform/cijfers?groep=Abonnementen")
            let duinstadRow = try #require(figures.html.firstMatch(of: /<th scope="row">Bibliotheek pd<\/th>(.*?)<\/tr>/)).output.1
            let zeedorpRow = try #require(figures.html.firstMatch(of: /<th scope="row">Bibliotheek pz<\/th>(.*?)<\/tr>/)).output.1
            let provinceRow = try #require(figures.html.firstMatch(of: /<th scope="row">Provincie<\/th>(.*?)<\/tr>/)).output.1
            // The columns: Jeugdleden, Volwassen leden, NT2-leden, ...
            #expect(duinstadRow.hasPrefix("<td class=\"number\">&lt; 10</td><td class=\"number\">23</td><td class=\"number\">&lt; 10</td>"))
            #expect(zeedorpRow.hasPrefix("<td class=\"number\">12</td><td class=\"number\">&lt; 10</td><td class=\"number\">&lt; 10</td>"))
            #expect(
                provinceRow.hasPrefix(
                    "<td class=\"number\"><strong>12</strong></td><td class=\"number\"><strong>23</strong></td><td class=\"number\"><strong>&lt; 10</strong></td>"
                ))
            #expect(figures.contains("title=\"Huidige leden met een NT2-abonnement"), "the definition on hover")
            let mail = try await browser.get("/platform/cijfers?groep=Mail")
            #expect(mail.contains(">Verstuurde mails (30 dagen)</abbr>") && mail.contains(">Bezorgde mails (30 dagen)</abbr>"))
            #expect(!mail.contains(">NT2-leden</abbr>"))
            // The CSV holds every figure of every group, "< 10" as on the page.
            let csv = try await browser.get("/platform/cijfers.csv")
            let lines = csv.html.split(whereSeparator: \.isNewline).map { $0.split(separator: ";").map(String.init) }
            let header = try #require(lines.first)
            #expect(header.count == LibraryFigures.catalogue.count + 1 && header.first?.hasSuffix("\"bibliotheek\"") == true, "after the BOM")
            func cell(_ row: String, _ code: String) -> String? {
                guard let column = header.firstIndex(of: "\"\(code)\""), let line = lines.first(where: { $0.first == "\"\(row)\"" }) else {
                    return nil
                }
                return line[column]
            }
            #expect(cell("Bibliotheek pd", "members") == "\"30\"" && cell("Bibliotheek pd", "members_nt2") == "\"< 10\"")
            #expect(cell("Bibliotheek pd", "members_adult") == "\"23\"" && cell("Bibliotheek pz", "members_youth") == "\"12\"")
            #expect(cell("provincie", "members") == "\"42\"" && cell("provincie", "members_nt2") == "\"< 10\"")

            // Aansluiten: wrong input comes back in Dutch, a taken slug too; then a new library with its administrator invited.
            try await browser.get("/platform")
            let wrong = try await browser.post("/platform/bibliotheken", [("slug", "Nieuw!"), ("name", ""), ("admin_email", "geen-adres")])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.contains("Vul een korte naam in") && wrong.contains("Vul de naam van de bibliotheek in"))
            #expect(wrong.contains("Vul het e-mailadres van de eerste beheerder in") && wrong.contains("value=\"Nieuw!\""))
            let taken = try await browser.post(
                "/platform/bibliotheken", [("slug", duinstad.slug.value), ("name", "Dubbel"), ("admin_email", "beheer@dubbel.example")])
            #expect(taken.contains("Er is al een bibliotheek met deze korte naam."))
            let slug = "nieuw-\(UUID().uuidString.prefix(6).lowercased())"
            let made = try await browser.post(
                "/platform/bibliotheken",
                [("slug", slug), ("name", "Bibliotheek Nieuwstad"), ("admin_email", "beheer@\(slug).example"), ("admin_name", "Eerste Beheerder")])
            #expect(made.location == "/platform/bibliotheken/\(slug)?gedaan=aangesloten")
            let created = try #require(try await env.db.withPlatform { tx in try await TenantDirectory.find(slug: TenantSlug(slug)!, in: tx) })
            let invitations = try await env.db.withPlatform { tx in
                try await tx.query("SELECT count(*)::int8 FROM jobs WHERE kind = 'staff.invitation' AND tenant_id = \(created.id)").decode(Int.self)
                    .first { _ in true } ?? 0
            }
            #expect(invitations == 1, "the first administrator gets the invitation by mail")
            let page = try await browser.get("/platform/bibliotheken/\(slug)")
            #expect(page.contains("Bibliotheek Nieuwstad") && page.contains("<td>Aangesloten</td>"))
            #expect(!page.contains("beheer@\(slug).example"), "the console shows no address")

            // Schorsen needs a reason; it is in the log; the library's staff can no longer sign in; then resumed.
            let noReason = try await browser.post("/platform/bibliotheken/\(duinstad.slug.value)/status", [("status", "suspended"), ("reason", " ")])
            #expect(noReason.status == .unprocessableContent && noReason.contains("Vul de reden in"))
            let suspended = try await browser.post(
                "/platform/bibliotheken/\(duinstad.slug.value)/status", [("status", "suspended"), ("reason", "Contract loopt af")])
            #expect(suspended.location == "/platform/bibliotheken/\(duinstad.slug.value)?gedaan=geschorst")
            let shown = try await browser.get("/platform/bibliotheken/\(duinstad.slug.value)")
            #expect(shown.contains("<td>Geschorst</td><td>Contract loopt af</td>") && shown.contains("Weer actief maken"))
            let locked = Browser(client)
            let refused = try await locked.signIn(librarian.email, password: TestEnvironment.password, library: duinstad.slug.value)
            #expect(refused.location != "/", "a suspended library's staff cannot sign in")
            try await browser.post("/platform/bibliotheken/\(duinstad.slug.value)/status", [("status", "active"), ("reason", "Verlengd")])
            #expect(try await env.db.withPlatform { tx in try await TenantDirectory.find(slug: duinstad.slug, in: tx) }?.status == .active)
            #expect(try await browser.get("/platform/bibliotheken/geen-bibliotheek").status == .notFound)

            // Gezondheid: migrations per library, the queue with the invitation, the database's size.
            try await env.owner.withPlatform { tx in try await tx.query("DELETE FROM send_counts") }  // this suite's database, run before
            let quiet = try await browser.get("/platform/gezondheid")
            #expect(quiet.contains("Het afgelopen uur zijn er geen mails verstuurd."))
            // Sends per minute, from the workers' counts: 30 and 12 mails in two minutes of the last hour; an older
            // count and the running minute stay out.
            let minute = (clock.now.timeIntervalSince1970 / 60).rounded(.down) * 60
            try await env.db.withPlatform { tx in
                for (tenant, minutesAgo, sent) in [
                    (duinstad, 5.0, 30), (duinstad, 3.0, 10), (zeedorp, 3.0, 2), (duinstad, 90.0, 500), (zeedorp, 0.0, 700),
                ] {
                    let at = Date(timeIntervalSince1970: minute - minutesAgo * 60)
                    try await tx.query("INSERT INTO send_counts (tenant_id, minute, sent) VALUES (\(tenant.id), \(at), \(sent))")
                }
            }
            let health = try await browser.get("/platform/gezondheid")
            #expect(health.contains("Bibliotheek Nieuwstad") && health.contains("<code>staff.invitation</code>"))
            #expect(health.contains("Platformmigraties") && health.contains(" MB"))
            #expect(health.contains("Het afgelopen uur <strong>42</strong> mails, gemiddeld 0,7 per minuut; de drukste minuut 30 om "))
            #expect(health.contains("<svg") && health.contains("Verzonden mails per minuut, het afgelopen uur"))
            let duinstadHealth = try #require(health.html.firstMatch(of: /<th scope="row">Bibliotheek pd<\/th>(.*?)<\/tr>/)).output.1
            #expect(duinstadHealth.hasSuffix("<td class=\"number\">40</td>"))

            // Mosaic: a dry run loads nothing, then the delivery is loaded and current.
            let mosaicForm = try await browser.get("/platform/mosaic")
            #expect(mosaicForm.contains("Er is nog geen levering geladen."))
            let token = try #require(mosaicForm.formToken)
            func upload(dryRun: Bool) async throws -> Browser.Page {
                let boundary = "----kringtest\(UUID().uuidString.prefix(8))"
                var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(token)\r\n"
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\nMosaic test\r\n"
                if dryRun { body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\non\r\n" }
                let scheme = "Segment;Segmentnaam;Subsegment;Subsegmentnaam\r\nX;Lezers;X1;Boekenwurmen\r\n"
                let areas = "Postcode;Gemeente;Subsegment;Huishoudens;Inwoners\r\n2011 AA;Duinstad;X1;10;40\r\n2011 AB;Duinstad;Q7;1;1\r\n"
                for (name, text) in [("scheme", scheme), ("areas", areas)] {
                    body +=
                        "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name).csv\"\r\nContent-Type: text/csv\r\n\r\n\(text)\r\n"
                }
                body += "--\(boundary)--\r\n"
                return try await client.execute(
                    uri: "/platform/mosaic", method: .post,
                    headers: [
                        .contentType: "multipart/form-data; boundary=\(boundary)",
                        .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "),
                    ], body: ByteBuffer(string: body)
                ) { response in Browser.Page(status: response.status, headers: response.headers, html: String(buffer: response.body)) }
            }
            let proef = try await upload(dryRun: true)
            #expect(proef.contains("Proef: zou laden: 1 segmenten, 1 subsegmenten, 1 postcodes"))
            #expect(proef.contains("Gebieden, regel 3"), "the bad row with its file and line")
            #expect(proef.contains("Subsegment ‘Q7’ staat niet in het schema."), "in Dutch")
            #expect(proef.contains("1 afgekeurde regel."))
            #expect(proef.contains("Er is nog geen levering geladen."))
            let loaded = try await upload(dryRun: false)
            #expect(loaded.contains("Geladen: 1 segmenten") && loaded.contains("<th scope=\"row\">Mosaic test</th>"))

            // A library's administrator has no business here.
            let other = Browser(client)
            try await other.signIn(librarian.email, password: TestEnvironment.password, library: duinstad.slug.value)
            for path in ["/platform", "/platform/cijfers", "/platform/cijfers.csv", "/platform/gezondheid", "/platform/mosaic"] {
                #expect(try await other.get(path).status == .forbidden, "\(path)")
            }
        }
    }

    /// The console reads as `kring_console`: the database itself refuses it anything of a library's schema and the
    /// platform's personal records, so no console page can show a person.
    @Test func theConsoleRoleReadsOnlyTheFiguresAndThePlatformsRecordsAboutLibraries() async throws {
        let env = try await TestEnvironment.forSuite("WebPlatformRole")
        let tenant = try await env.createTenant("pr")
        try await Self.members(3, type: "adult", in: tenant, env: env)
        try await LibraryFigures.snapshot(tenant, at: Date(), db: env.db)
        let schema = tenant.slug.schema.quoted
        for statement in [
            "SELECT count(*) FROM \(schema).customers", "SELECT email FROM \(schema).customers", "SELECT count(*) FROM platform.users",
            "SELECT email FROM platform.users", "SELECT count(*) FROM platform.audit_log", "SELECT payload FROM platform.jobs",
            "SELECT last_error FROM platform.jobs", "SELECT settings FROM platform.tenants", "SELECT count(*) FROM platform.browser_sessions",
            "SELECT count(*) FROM reference.mosaic_areas",
        ] {
            await #expect(throws: PSQLError.self, "\(statement)") {
                try await env.db.withConsole { tx in _ = try await tx.query(PostgresQuery(unsafeSQL: statement)).collect() }
            }
        }
        await #expect(throws: PSQLError.self, "read only") {
            try await env.db.withConsole { tx in try await tx.query("DELETE FROM library_figures") }
        }
        await #expect(throws: PSQLError.self, "read only") {
            try await env.db.withConsole { tx in try await tx.query("DELETE FROM send_counts") }
        }
        _ = try await env.db.withConsole { tx in try await tx.query("SELECT sum(sent) FROM send_counts").collect() }
        let read = try await env.db.withConsole { tx in
            try await tx.query("SELECT count(*)::int8 FROM library_figures WHERE tenant_id = \(tenant.id) AND code = 'members' AND value = 3")
                .decode(Int.self).first { _ in true } ?? 0
        }
        #expect(read == 1)
    }
}
