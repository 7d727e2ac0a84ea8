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
import NIOCore
import Testing

@testable import KringWeb

/// What a careful attacker would try against the sign-in and the administration.
@Suite("Web hardening") struct WebHardeningTests {
    @Test func onlyAPathOnThisSiteIsAPlaceToReturnTo() {
        #expect(SignInPages.safeBack("/klanten?q=de%20vries") == "/klanten?q=de%20vries")
        for hostile in [
            "//evil.example", "/\t/evil.example", "/%09/x\u{0009}", "/\\evil", "https://evil.example", "/ok\r\nLocation: x", "/inloggen", "klanten",
        ] {
            #expect(SignInPages.safeBack(hostile) == nil, "\(hostile.debugDescription)")
        }
    }

    @Test func aHalfDoneSignInCannotReplaceTwoFactorAndEndsWithTheAccountsSessions() async throws {
        let env = try await TestEnvironment.forSuite("WebHard")
        let tenant = try await env.createTenant("wh")
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('two_factor_required', 'true'::jsonb, now())")
        }
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let clock = TestClock(Date())
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let attacker = Browser(client)
            #expect(
                try await attacker.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value).location
                    == "/inloggen/instellen")
            try await attacker.get("/inloggen/instellen")
            let offered = try #require(
                try await env.db.withPlatform { tx in
                    try await tx.query("SELECT pending_secret FROM platform.browser_sessions WHERE user_id = \(user.id) AND pending = 'enrol'")
                        .decode(String?.self).first { _ in true } ?? nil
                })
            // Meanwhile the owner sets up their own app.
            let owners = TwoFactor.newSecret()
            _ = try await env.db.withPlatform { tx in
                try await TwoFactor.enable(userID: user.id, secret: owners, confirmedStep: 0, now: clock.now, in: tx)
            }
            let attempt = try await attacker.post("/inloggen/instellen", [("code", TwoFactor.code(secret: offered, at: clock.now))])
            #expect(attempt.location?.hasPrefix("/inloggen") == true)
            let stored = try await env.db.withPlatform { tx in
                try await tx.query("SELECT totp_secret FROM platform.users WHERE id = \(user.id)").decode(String?.self).first { _ in true } ?? nil
            }
            #expect(stored == owners, "the owner's secret stays")

            // A second half-done sign-in ends when the account's sessions are ended (a password reset does that).
            let other = Browser(client)
            #expect(try await other.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value).location == "/inloggen/code")
            try await env.db.withPlatform { tx in
                try await Sessions.revokeAll(userID: user.id, tenantID: nil, reason: "password_set", now: clock.now, in: tx)
            }
            #expect(try await other.get("/inloggen/code").status == .seeOther)
            // And a half-done sign-in can start over at the sign-in form.
            let third = Browser(client)
            try await third.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let again = try await third.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(again.location == "/inloggen/code")
        }
    }

    @Test func twoFactorOnCannotBeReEnrolledAndAColleagueSharedWithAnotherLibraryIsResetByProbiblioOnly() async throws {
        let env = try await TestEnvironment.forSuite("WebHard")
        let tenant = try await env.createTenant("wh")
        let other = try await env.createTenant("wi")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let shared = try await env.createUser(in: tenant, role: .frontdesk)
        try await env.owner.withPlatform { tx in
            try await StaffAccounts.addMembership(userID: shared.id, tenantID: other.id, role: .analyst, now: Date(), in: tx)
        }
        let clock = TestClock(Date())
        let secret = TwoFactor.newSecret()
        _ = try await env.db.withPlatform { tx in
            try await TwoFactor.enable(userID: shared.id, secret: secret, confirmedStep: 0, now: clock.now, in: tx)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let desk = Browser(client)
            try await desk.signIn(shared.email, password: TestEnvironment.password, library: tenant.slug.value)
            clock.advance(by: 30)
            try await desk.get("/inloggen/code")
            #expect(try await desk.post("/inloggen/code", [("code", TwoFactor.code(secret: secret, at: clock.now))]).location == "/")
            #expect(try await desk.get("/account/tweestaps").location == "/account", "the active secret is never shown again")

            let browser = Browser(client)
            try await browser.signIn(admin.email, password: TestEnvironment.password, library: tenant.slug.value)
            try await browser.get("/beheer/medewerkers")
            let refused = try await browser.post("/beheer/medewerkers/\(shared.id.uuidString.lowercased())", [("action", "reset-two-factor")])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.contains("Vraag Probiblio"))
        }
        #expect(try await env.db.withPlatform { tx in try await TwoFactor.status(userID: shared.id, in: tx) }.enabled)
    }

    @Test func formsBeforeSignInAreSmallAndOnlyTheImportTakesAFile() async throws {
        let env = try await TestEnvironment.forSuite("WebHard")
        let tenant = try await env.createTenant("wh")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.get("/inloggen")
            let big = try await browser.post(
                "/inloggen", [("email", String(repeating: "a", count: 200_000)), ("password", "x"), ("library", tenant.slug.value)])
            #expect(big.status == .contentTooLarge)
            try await browser.signIn(user.email, password: TestEnvironment.password, library: tenant.slug.value)
            let page = try await browser.get("/klanten")
            let token = try #require(page.formToken)
            let body = "--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(token)\r\n--b--\r\n"
            let multipart = try await client.execute(
                uri: "/klanten/nieuw", method: .post,
                headers: [
                    .contentType: "multipart/form-data; boundary=b", .cookie: browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "),
                ],
                body: ByteBuffer(string: body))
            #expect(multipart.status == .forbidden)
        }
    }
}
