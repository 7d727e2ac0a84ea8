import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import PostgresNIO
import Testing

/// The staff web app over HTTP against a real PostgreSQL: signing in (and its second factor), sessions, form
/// tokens, tenancy, and the front desk's customer pages.
@Suite("Web app") struct WebAppTests {
    static func customer(in tenant: Tenant, env: TestEnvironment, lastName: String = "Dekker", memberNumber: String? = nil) async throws -> Customer {
        var draft = CustomerDraft(roles: ["member"])
        draft.firstName = "Saar"
        draft.lastName = lastName
        draft.memberNumber = memberNumber ?? "7\(Int.random(in: 1_000_000...9_999_999))"
        draft.memberType = "adult"
        draft.postcode = "2011AB"
        draft.email = "klant-\(UUID().uuidString.prefix(8).lowercased())@example.nl"
        let valid = try draft.validate(today: CalendarDate(Date()))
        return try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: Date(), in: tx) }
    }

    @Test func signingInRenewsTheSessionAndLandsOnTheLibrarysPage() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            let first = try await browser.get("/")
            #expect(first.status == .seeOther)
            #expect(first.location == "/inloggen")
            let form = try await browser.get("/inloggen")
            #expect(form.status == .ok)
            #expect(form.contains(tenant.name))
            let policy = try #require(form.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline") && policy.contains("frame-ancestors 'none'"))

            // A session id planted before sign-in is not the one after it.
            browser.cookies[BrowserSessions.cookieName] = "planted-by-someone-else"
            let wrong = try await browser.post("/inloggen", [("email", user.email), ("password", "niet goed"), ("library", tenant.slug.value)])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.contains("klopt niet"))
            #expect(wrong.contains("value=\"\(user.email)\""))
            let signedIn = try await browser.post(
                "/inloggen", [("email", user.email), ("password", TestEnvironment.password), ("library", tenant.slug.value)])
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.location == "/")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix(BrowserSessions.cookieName + "=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            #expect(browser.cookies[BrowserSessions.cookieName] != "planted-by-someone-else")
            let home = try await browser.get("/")
            #expect(home.status == .ok)
            #expect(home.contains(tenant.name) && home.contains("Klanten") && home.contains("Uitloggen"))
            #expect(!home.contains("Platform"))
        }
    }

    @Test func cookiesAreSecureWhenKringIsReachedOverHTTPS() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .analyst)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())) { $0.publicURL = "https://kring.example" })
        try await app.test(.router) { client in
            let browser = Browser(client)
            let signedIn = try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix(BrowserSessions.cookieName + "=") })
            #expect(cookie.contains("Secure"))
        }
    }

    @Test func formsWithoutTheirTokenOrFromAnotherSiteAreRefused() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let customer = try await Self.customer(in: tenant, env: env)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.get("/inloggen")
            #expect(
                try await browser.post(
                    "/inloggen", [("email", user.email), ("password", TestEnvironment.password), ("library", tenant.slug.value)],
                    token: ""
                ).status == .forbidden)
            try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let path = "/klanten/\(customer.id.uuidString.lowercased())/contactmoment"
            try await browser.get(path)
            let fields = [("channel", "phone"), ("direction", "inbound"), ("subject", "Vraag over boete")]
            let missing = try await browser.post(path, fields, token: "")
            #expect(missing.status == .forbidden)
            #expect(missing.contains("Dit formulier is verlopen"))
            #expect(try await browser.post(path, fields, token: "not-the-token").status == .forbidden)
            browser.origin = "https://elders.example"
            #expect(try await browser.post(path, fields).status == .forbidden)
            browser.origin = "http://localhost"
            let saved = try await browser.post(path, fields)
            #expect(saved.status == .seeOther)
            let count = try await env.db.withTenant(tenant) { tx in
                try await tx.query("SELECT count(*)::int FROM contact_moments WHERE customer_id = \(customer.id) AND subject = 'Vraag over boete'")
                    .decode(Int.self).first { _ in true }
            }
            #expect(count == 1)
        }
    }

    @Test func anotherLibrarysCustomerAnswersTheNotFoundPageAndIsAudited() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let libraryA = try await env.createTenant("wa")
        let libraryB = try await env.createTenant("wb")
        let customerA = try await Self.customer(in: libraryA, env: env)
        let staffB = try await env.createUser(in: libraryB, role: .frontdesk)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(staffB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let id = customerA.id.uuidString.lowercased()
            for path in ["/klanten/\(id)", "/klanten/\(id)/bewerken", "/klanten/\(id)/contactmoment", "/klanten/\(id)/toestemming"] {
                let page = try await browser.get(path)
                #expect(page.status == .notFound, "\(path)")
                #expect(page.contains("Deze pagina bestaat niet"))
                #expect(!page.contains(customerA.lastName ?? "-"))
            }
            try await browser.get("/klanten")
            let posted = try await browser.post("/klanten/\(id)/contactmoment", [("channel", "phone"), ("direction", "inbound"), ("subject", "x")])
            #expect(posted.status == .notFound)
            #expect(try await browser.get("/klanten/niet-een-id").status == .notFound)
            #expect(try await browser.get("/bestaat-niet").status == .notFound)
        }
        let audited = try await env.db.withTenant(libraryB) { tx in
            try await tx.query(
                "SELECT count(*)::int FROM audit_log WHERE action = 'access.unknown_customer' AND subject_id = \(customerA.id.uuidString.lowercased())"
            )
            .decode(Int.self).first { _ in true }
        }
        #expect(audited == 5)
    }

    @Test func twoFactorSignInAsksForTheCodeAndTheAPITakesItToo() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let clock = TestClock(Date())
        let secret = TwoFactor.newSecret()
        let codes = try await env.db.withPlatform { tx in
            try await TwoFactor.enable(userID: user.id, secret: secret, confirmedStep: 0, now: clock.now, in: tx)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            let afterPassword = try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(afterPassword.location == "/inloggen/code")
            // Half signed in: no page but the code's.
            #expect(try await browser.get("/klanten").location?.hasPrefix("/inloggen") == true)
            #expect(try await browser.get("/").location == "/inloggen/code")
            let form = try await browser.get("/inloggen/code")
            #expect(form.status == .ok)
            let pendingCookie = browser.cookies[BrowserSessions.cookieName]
            #expect(try await browser.post("/inloggen/code", [("code", "000000")]).status == .unauthorized)
            let done = try await browser.post("/inloggen/code", [("code", TwoFactor.code(secret: secret, at: clock.now))])
            #expect(done.status == .seeOther)
            #expect(done.location == "/")
            #expect(browser.cookies[BrowserSessions.cookieName] != pendingCookie)
            #expect(try await browser.get("/klanten").status == .ok)

            // The API: no code, 401 naming the field; the same code again, refused; a recovery code, once.
            let noCode = try await client.send(
                .post, "/api/v1/auth/login", json: ["email": user.email, "password": TestEnvironment.password, "tenant": tenant.slug.value])
            #expect(noCode.status == .unauthorized)
            #expect(noCode["type"] as? String == "https://kring.nl/problems/two-factor-required")
            let replay = try await client.send(
                .post, "/api/v1/auth/login",
                json: [
                    "email": user.email, "password": TestEnvironment.password, "tenant": tenant.slug.value,
                    "totp_code": TwoFactor.code(secret: secret, at: clock.now),
                ])
            #expect(replay.status == .unauthorized)
            let recovery = ["email": user.email, "password": TestEnvironment.password, "tenant": tenant.slug.value, "totp_code": codes[3]]
            #expect(try await client.send(.post, "/api/v1/auth/login", json: recovery).status == .ok)
            #expect(try await client.send(.post, "/api/v1/auth/login", json: recovery).status == .unauthorized)
            clock.advance(by: 30)
            _ = try await client.login(email: user.email, tenant: tenant.slug.value, code: TwoFactor.code(secret: secret, at: clock.now))
        }
        let failures = try await env.db.withPlatform { tx in
            try await tx.query(
                "SELECT count(*)::int FROM platform.audit_log WHERE actor_user_id = \(user.id) AND details->>'reason' = 'wrong_second_factor'"
            )
            .decode(Int.self).first { _ in true }
        }
        #expect(failures == 3)
    }

    @Test func whereTwoFactorIsRequiredSignInGoesThroughSettingItUp() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('two_factor_required', 'true'::jsonb, now())")
        }
        let user = try await env.createUser(in: tenant, role: .analyst)
        let clock = TestClock(Date())
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let api = try await client.send(
                .post, "/api/v1/auth/login", json: ["email": user.email, "password": TestEnvironment.password, "tenant": tenant.slug.value])
            #expect(api.status == .forbidden)
            let browser = Browser(client)
            let afterPassword = try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(afterPassword.location == "/inloggen/instellen")
            let enrol = try await browser.get("/inloggen/instellen")
            #expect(enrol.contains("<svg") && enrol.contains("role=\"img\""))
            let typed = try #require(enrol.html.range(of: "<code class=\"secret\">").map { enrol.html[$0.upperBound...].prefix { $0 != "<" } })
            let secret = try await env.db.withPlatform { tx in
                try await tx.query("SELECT pending_secret FROM platform.browser_sessions WHERE user_id = \(user.id) AND pending = 'enrol'")
                    .decode(String.self).first { _ in true }
            }
            let offered = try #require(secret)
            #expect(TwoFactor.typedSecret(offered) == String(typed))
            #expect(try await browser.post("/inloggen/instellen", [("code", "123456")]).status == .unprocessableContent)
            let codes = try await browser.post("/inloggen/instellen", [("code", TwoFactor.code(secret: offered, at: clock.now))])
            #expect(codes.status == .ok)
            #expect(codes.html.components(separatedBy: "<li><code>").count - 1 == 10)
            #expect(try await browser.get("/").status == .ok)
        }
        let stored = try await env.db.withPlatform { tx in
            try await tx.query("SELECT count(*)::int FROM platform.recovery_codes WHERE user_id = \(user.id) AND used_at IS NULL").decode(Int.self)
                .first { _ in true }
        }
        #expect(stored == 10)
    }

    @Test func sessionsEndWhenIdleAndSignOutEverywhereEndsThemAll() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let clock = TestClock(Date())
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let desk = Browser(client)
            try await desk.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            clock.advance(by: 29 * 60)
            #expect(try await desk.get("/klanten").status == .ok)
            clock.advance(by: 29 * 60)
            #expect(try await desk.get("/klanten").status == .ok, "seen 29 minutes ago: still signed in")
            clock.advance(by: 31 * 60)
            #expect(try await desk.get("/klanten").location == "/inloggen?terug=/klanten")

            let office = Browser(client)
            let laptop = Browser(client)
            try await office.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            try await laptop.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let token = try await client.login(email: user.email, tenant: tenant.slug.value).access
            try await office.get("/account")
            let out = try await office.post("/overal-uitloggen", [])
            #expect(out.location == "/inloggen?afgemeld=1")
            #expect(try await laptop.get("/klanten").status == .seeOther)
            #expect(try await office.get("/klanten").status == .seeOther)
            #expect(try await client.send(.get, "/api/v1/me", token: token).status == .unauthorized)
        }
    }

    @Test func aStaleEditShowsTheColleaguesChangeAndKeepsWhatWasTyped() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let anna = try await env.createUser(in: tenant, role: .frontdesk)
        let bram = try await env.createUser(in: tenant, role: .frontdesk)
        let customer = try await Self.customer(in: tenant, env: env)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let first = Browser(client)
            let second = Browser(client)
            try await first.signIn(anna.email, password: TestEnvironment.password, library: tenant.slug.value)
            try await second.signIn(bram.email, password: TestEnvironment.password, library: tenant.slug.value)
            let path = "/klanten/\(customer.id.uuidString.lowercased())/bewerken"
            let formA = try await first.get(path)
            let formB = try await second.get(path)
            func fields(_ page: Browser.Page, _ changes: [String: String]) -> [(String, String)] {
                var out: [(String, String)] = [("version", page.field("version") ?? "")]
                for name in [
                    "first_name", "infix", "last_name", "birth_date", "email", "phone", "street", "house_number",
                    "house_number_addition", "postcode", "city", "municipality", "notes",
                ] {
                    let value = page.field(name) ?? ""
                    out.append((name, changes[name] ?? value))
                    out.append(("orig_" + name, page.field("orig_" + name) ?? value))
                }
                return out
            }
            let saved = try await first.post(path, fields(formA, ["phone": "023-5551234"]))
            #expect(saved.status == .seeOther)
            let stale = try await second.post(path, fields(formB, ["city": "Haarlem", "street": "Gedempte Oude Gracht"]))
            #expect(stale.status == .conflict)
            #expect(stale.contains("Een collega heeft deze klant intussen gewijzigd"))
            #expect(stale.contains("023-5551234"))
            #expect(stale.field("city") == "Haarlem")
            #expect(stale.field("street") == "Gedempte Oude Gracht")
            let again = try await second.post(path, fields(stale, [:]))
            #expect(again.status == .seeOther)
            let invalid = try await second.post(path, fields(try await second.get(path), ["postcode": "12345"]))
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.contains("Vul een postcode in zoals 2011 AB."))
            #expect(invalid.contains("aria-describedby=\"h-postcode e-postcode\""))
        }
        let now = try await env.db.withTenant(tenant) { tx in try await Customers.read(id: customer.id, by: .system, now: Date(), in: tx) }
        #expect(now.phone == "023-5551234")
        #expect(now.city == "Haarlem")
        #expect(now.street == "Gedempte Oude Gracht")
    }

    @Test func theCounterSearchGoesStraightToAUniqueMemberNumberAndEscapesWhatItShows() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let tenant = try await env.createTenant("w")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let number = "90\(Int.random(in: 100_000...999_999))"
        let member = try await Self.customer(in: tenant, env: env, lastName: "<script>alert(1)</script>", memberNumber: number)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let direct = try await browser.get("/klanten?q=\(number)")
            #expect(direct.location == "/klanten/\(member.id.uuidString.lowercased())")
            let page = try await browser.get(direct.location ?? "/")
            #expect(page.status == .ok)
            #expect(!page.contains("<script>alert(1)</script>"))
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let list = try await browser.get("/klanten?q=%3Cscript")
            #expect(list.status == .ok)
            #expect(!list.contains("<script>alert"))
        }
    }

    @Test func aColleagueOfTwoLibrariesSwitchesAndTheFirstSessionEnds() async throws {
        let env = try await TestEnvironment.forSuite("Web")
        let first = try await env.createTenant("ws")
        let second = try await env.createTenant("wt")
        let user = try await env.createUser(in: first, role: .frontdesk)
        try await env.owner.withPlatform { tx in
            try await StaffAccounts.addMembership(userID: user.id, tenantID: second.id, role: .analyst, now: Date(), in: tx)
        }
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(user.email, password: TestEnvironment.password, library: first.slug.value)
            let oldCookie = try #require(browser.cookies[BrowserSessions.cookieName])
            let choice = try await browser.get("/bibliotheek-wisselen")
            #expect(choice.contains(first.name) && choice.contains(second.name))
            #expect(!choice.contains("Probiblio"))
            let switched = try await browser.post(
                "/inloggen", [("email", user.email), ("password", TestEnvironment.password), ("library", second.slug.value)])
            #expect(switched.location == "/")
            let home = try await browser.get("/")
            #expect(home.contains(second.name) && home.contains("analist"))
            let stale = Browser(client)
            stale.cookies[BrowserSessions.cookieName] = oldCookie
            #expect(try await stale.get("/klanten").status == .seeOther)
        }
    }
}
