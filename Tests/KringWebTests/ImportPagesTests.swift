import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringB2C
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import NIOCore
import Testing

/// A new library's first member import in the browser: the dry run names the unknown branches, one button adds them,
/// the confirmed import runs, and the bad rows download as CSV.
@Suite("Import pages") struct ImportPagesTests {
    static let header = "Lenernummer;Lenerscategorie;Voornaam;Achternaam;E-mail;Postcode;Huisnummer;Woonplaats;Inschrijfdatum;Vestiging\r\n"
    static let rows = [
        "300001;Volwassene;Anna;Dijkstra;anna@example.nl;2011 AB;12;Haarlem;01-02-2010;Heemstede",
        "300002;Jeugd;Daan;Visser;;2101 CD;3;Heemstede;2021-09-01;Heemstede",
        "300003;Volwassene;Fleur;de Boer;fleur@example.nl;2061 EF;8;Bloemendaal;2019-03-04;Bloemendaal",
        "300004;Volwassene;Kees;Bakker;geen-adres;2011 AB;1;Haarlem;2018-01-01;Heemstede",
    ]

    /// Runs the queued import jobs of a library, as `kring worker` would.
    static func work(_ env: TestEnvironment, clock: TestClock) async throws {
        let handler = try #require(B2CJobs.handlers(db: env.db, now: clock.closure)[Imports.jobKind])
        let queue = JobQueue(db: env.db)
        while true {
            let jobs = try await queue.claim(limit: 10, worker: "web-test", lease: .seconds(60), now: clock.now, kinds: [Imports.jobKind])
            if jobs.isEmpty { break }
            for job in jobs {
                try await handler(job)
                try await queue.complete(job, worker: "web-test", now: clock.now)
            }
        }
    }

    static func multipart(_ token: String, file: String, kind: String = "members") -> (String, ByteBuffer) {
        let boundary = "----kringtest\(UUID().uuidString.prefix(8))"
        var body = ""
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(token)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n\(kind)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leden.csv\"\r\nContent-Type: text/csv\r\n\r\n\(file)\r\n"
        body +=
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"mapping\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
        body += "--\(boundary)--\r\n"
        return ("multipart/form-data; boundary=\(boundary)", ByteBuffer(string: body))
    }

    @Test func aFirstImportShowsTheDryRunAddsTheBranchesAndRunsWithProgress() async throws {
        let env = try await TestEnvironment.forSuite("WebImport")
        let tenant = try await env.createTenant("wi")
        let other = try await env.createTenant("wj")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let otherAdmin = try await env.createUser(in: other, role: .tenantAdmin)
        let clock = TestClock(Date())
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(admin.email, password: TestEnvironment.password, library: tenant.slug.value)
            let form = try await browser.get("/beheer/import")
            #expect(form.contains("enctype=\"multipart/form-data\""))
            let token = try #require(form.formToken)
            // Without the token inside the multipart body, refused.
            let (badType, badBody) = Self.multipart("wrong", file: Self.header + Self.rows.joined(separator: "\r\n"))
            let refused = try await client.execute(
                uri: "/beheer/import", method: .post,
                headers: [
                    .contentType: badType, .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "),
                ], body: badBody)
            #expect(refused.status == .forbidden)

            let (type, body) = Self.multipart(token, file: Self.header + Self.rows.joined(separator: "\r\n"))
            let uploaded = try await client.execute(
                uri: "/beheer/import", method: .post,
                headers: [
                    .contentType: type, .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "),
                ], body: body)
            #expect(uploaded.status == .seeOther)
            let dryRunPath = try #require(uploaded.headers[.location])
            let queued = try await browser.get(dryRunPath)
            #expect(queued.contains("data-progress=\"\(dryRunPath)/voortgang\""))
            try await Self.work(env, clock: clock)

            let dryRun = try await browser.get(dryRunPath)
            #expect(dryRun.contains("Proefimport"))
            #expect(dryRun.contains("Vestigingen die Kring nog niet kent"))
            #expect(dryRun.contains("<li>Heemstede</li>") && dryRun.contains("<li>Bloemendaal</li>"))
            #expect(dryRun.contains("4 rijen met deze vestigingen"))
            #expect(
                !dryRun.contains("Vestiging ‘Heemstede’ bestaat niet in Kring."), "rows refused for their branch are counted in the card, not listed")
            let firstCSV = try await browser.get(dryRunPath + "/fouten.csv")
            #expect(firstCSV.html.contains("Vestiging ‘Heemstede’ bestaat niet in Kring."))
            let progress = try await browser.get(dryRunPath + "/voortgang")
            #expect(progress.html.contains("\"percent\":100") && progress.html.contains("\"finished\":true"))
            #expect(try await env.db.withTenant(tenant) { tx in try await Branches.list(in: tx) }.isEmpty)
            #expect(
                try await env.db.withTenant(tenant) { tx in
                    try await tx.query("SELECT count(*)::int FROM customers").decode(Int.self).first { _ in true }
                } == 0, "a dry run writes nothing")

            // Another library's administrator gets the 404 page for this import.
            let stranger = Browser(client)
            try await stranger.signIn(otherAdmin.email, password: TestEnvironment.password, library: other.slug.value)
            #expect(try await stranger.get(dryRunPath).status == .notFound)
            #expect(try await stranger.get(dryRunPath + "/fouten.csv").status == .notFound)

            let withBranches = try await browser.post(dryRunPath + "/vestigingen", [("municipality", "Heemstede")])
            let secondPath = try #require(withBranches.location)
            #expect(secondPath != dryRunPath)
            try await Self.work(env, clock: clock)
            let second = try await browser.get(secondPath)
            #expect(!second.contains("Vestigingen die Kring nog niet kent"))
            #expect(second.contains("Import uitvoeren"))
            #expect(second.contains("Geen geldig e-mailadres."), "a row's other fault shows once its branch exists")
            let csv = try await browser.get(secondPath + "/fouten.csv")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.contains("attachment") == true)
            #expect(csv.html.contains("regel;kolom;reden"))
            #expect(csv.html.contains("5;\"E-mail\""))

            let confirmed = try await browser.post(secondPath + "/uitvoeren", [])
            let realPath = try #require(confirmed.location)
            try await Self.work(env, clock: clock)
            let done = try await browser.get(realPath)
            #expect(done.contains("Nieuw toegevoegd"))
            #expect(done.contains("4 van 4 rijen, klaar."))
            #expect(!done.contains("Import uitvoeren"))
            // The dry run's file went with the real import: confirming twice is not possible.
            try await browser.get(secondPath)
            #expect(try await browser.post(secondPath + "/uitvoeren", []).status == .unprocessableContent)
        }
        let imported = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers WHERE favourite_branch_id IS NOT NULL").decode(Int.self).first { _ in true }
        }
        #expect(imported == 3)
        let files = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM imports WHERE file IS NOT NULL").decode(Int.self).first { _ in true }
        }
        #expect(files == 0, "no import keeps its file once it ran or was confirmed")
    }

    /// A relations manager's lists of organisations and contacts: the same dry run, progress, bad rows and confirmation,
    /// under Relaties; Beheer and Relaties each see only their own kinds of import.
    @Test func organisationsAndContactsImportWithADryRunAndTheirBadRowsInDutch() async throws {
        // A database of its own: `work` runs every queued import of its database, and the member import test's must
        // not be taken from under it.
        let env = try await TestEnvironment.forSuite("WebRelationImport")
        let tenant = try await env.createTenant("ri")
        let other = try await env.createTenant("rj")
        let manager = try await env.createUser(in: tenant, role: .relations)
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let stranger = try await env.createUser(in: other, role: .relations)
        let clock = TestClock(Date())
        let organisations = """
            Naam;Soort;Postcode;Plaats;Schoolbestuur\r
            Stichting Spaarnesant;overig;2011 AA;Haarlem;\r
            OBS De Linde;basisschool;2012 BB;Haarlem;Stichting Spaarnesant\r
            Het Schoolschip;basisschool;2013 CC;Haarlem;Stichting Nergens\r
            ;basisschool;2014 DD;Haarlem;\r

            """
        let contacts = """
            Organisatie;Voornaam;Achternaam;E-mail;Functie;Rol\r
            OBS De Linde;Anouk;Visser;anouk@linde.example;Directeur;beslisser\r
            Onbekende school;Piet;Jansen;piet@example.nl;Leerkracht;gebruiker\r

            """
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(manager.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await browser.get("/relaties").contains("href=\"/relaties/import\""), "the Importeren tab")
            func upload(_ file: String, kind: String) async throws -> String {
                let token = try #require(try await browser.get("/relaties/import").formToken)
                let (type, body) = Self.multipart(token, file: file, kind: kind)
                let uploaded = try await client.execute(
                    uri: "/relaties/import", method: .post,
                    headers: [.contentType: type, .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")], body: body)
                #expect(uploaded.status == .seeOther)
                return try #require(uploaded.headers[.location])
            }
            // A member export is not a relations kind.
            let token = try #require(try await browser.get("/relaties/import").formToken)
            let (memberType, memberBody) = Self.multipart(token, file: Self.header + Self.rows[0], kind: "members")
            let refused = try await client.execute(
                uri: "/relaties/import", method: .post,
                headers: [.contentType: memberType, .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")],
                body: memberBody)
            #expect(refused.status == .unprocessableContent)

            let dryRunPath = try await upload(organisations, kind: "organisations")
            #expect(dryRunPath.hasPrefix("/relaties/import/"))
            #expect(try await browser.get(dryRunPath).contains("data-progress=\"\(dryRunPath)/voortgang\""))
            try await Self.work(env, clock: clock)
            let dryRun = try await browser.get(dryRunPath)
            for text in [
                "Proefimport", "<h1>Relaties</h1>", "<dt>Rijen in het bestand</dt><dd>4</dd>", "<dt>Zou nieuw toevoegen</dt><dd>2</dd>",
                "<dt>Rijen met fouten</dt><dd>2</dd>", "Organisatie ‘Stichting Nergens’ staat niet in Kring; importeer eerst de organisaties.",
                "Vul hier iets in, hoogstens 200 tekens.", "Import uitvoeren",
            ] {
                #expect(dryRun.contains(text), "\(text)")
            }
            #expect(!dryRun.contains("Vestigingen die Kring nog niet kent"))
            let csv = try await browser.get(dryRunPath + "/fouten.csv")
            #expect(csv.html.contains("4;\"Schoolbestuur\";\"Organisatie ‘Stichting Nergens’ staat niet in Kring"))
            #expect(
                try await env.db.withTenant(tenant) { tx in
                    try await tx.query("SELECT count(*)::int FROM organisations").decode(Int.self).first { _ in true }
                } == 0, "a dry run writes nothing")

            // Each area sees its own kinds only; another library sees nothing.
            let administrator = Browser(client)
            try await administrator.signIn(admin.email, password: TestEnvironment.password, library: tenant.slug.value)
            let id = String(dryRunPath.dropFirst("/relaties/import/".count))
            #expect(try await administrator.get("/beheer/import/\(id)").status == .notFound)
            let outsider = Browser(client)
            try await outsider.signIn(stranger.email, password: TestEnvironment.password, library: other.slug.value)
            #expect(try await outsider.get(dryRunPath).status == .notFound)
            #expect(try await outsider.get(dryRunPath + "/fouten.csv").status == .notFound)
            #expect(try await outsider.post(dryRunPath + "/uitvoeren", []).status == .notFound)
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await reader.get("/relaties/import").status == .forbidden)
            #expect(!(try await reader.get("/relaties").contains("href=\"/relaties/import\"")))

            let confirmed = try await browser.post(dryRunPath + "/uitvoeren", [])
            let realPath = try #require(confirmed.location)
            try await Self.work(env, clock: clock)
            let done = try await browser.get(realPath)
            #expect(done.contains("<dt>Nieuw toegevoegd</dt><dd>2</dd>"))
            #expect(done.contains("4 van 4 rijen, klaar."))

            // Then the contacts, at the organisations now in Kring.
            let contactsPath = try await upload(contacts, kind: "contacts")
            try await Self.work(env, clock: clock)
            let contactsDryRun = try await browser.get(contactsPath)
            #expect(contactsDryRun.contains("Contactpersonen met hun rol bij een organisatie"))
            #expect(contactsDryRun.contains("<dt>Zou nieuw toevoegen</dt><dd>1</dd>"))
            #expect(contactsDryRun.contains("Organisatie ‘Onbekende school’ staat niet in Kring"))
            let contactsReal = try #require(try await browser.post(contactsPath + "/uitvoeren", []).location)
            try await Self.work(env, clock: clock)
            #expect(try await browser.get(contactsReal).contains("<dt>Nieuw toegevoegd</dt><dd>1</dd>"))
        }
        let (linde, parent, people) = try await env.db.withTenant(tenant) { tx in
            let linde = try #require(try await Organisations.search(.init(query: "OBS De Linde"), in: tx).first)
            let parent = try #require(try await Organisations.search(.init(query: "Stichting Spaarnesant"), in: tx).first)
            let people = try await tx.query("SELECT count(*)::int FROM contacts").decode(Int.self).first { _ in true }
            return (linde, parent, people)
        }
        #expect(linde.parentID == parent.id)
        #expect(people == 1)
        #expect(
            try await env.db.withTenant(other) { tx in
                try await tx.query("SELECT count(*)::int FROM organisations").decode(Int.self).first { _ in true }
            } == 0)
    }
}
