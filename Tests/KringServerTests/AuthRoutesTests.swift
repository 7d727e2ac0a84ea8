import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringTestSupport
import Logging
import NIOCore
import Synchronization
import Testing

@Suite struct AuthRoutesTests {
    @Test func tenantAdminLogsInAndMeAnswersTenantAndRole() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let tenant = try await env.createTenant("zk")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let login = try await client.send(
                .post, "/api/v1/auth/login",
                json: ["email": admin.email.uppercased(), "password": TestEnvironment.password, "tenant": tenant.slug.value])
            #expect(login.status == .ok)
            #expect(login.headers[.cacheControl] == "no-store")
            #expect(login["token_type"] as? String == "Bearer")
            let me = try await client.send(.get, "/api/v1/me", token: login["access_token"] as? String)
            #expect(me.status == .ok)
            #expect(me["role"] as? String == "tenant_admin")
            #expect((me["tenant"] as? [String: Any])?["slug"] as? String == tenant.slug.value)
            #expect((me["user"] as? [String: Any])?["email"] as? String == admin.email)
            #expect(
                me["permissions"] as? [String] == [
                    "api-keys:manage", "branches:manage", "branches:read", "imports:write", "profile:read", "settings:manage", "users:manage",
                    "users:read",
                ])
        }
    }

    @Test func loginToALibraryWithoutMembershipFails() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let mine = try await env.createTenant("m")
        let other = try await env.createTenant("o")
        let user = try await env.createUser(in: mine, role: .frontdesk)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let response = try await client.send(
                .post, "/api/v1/auth/login",
                json: ["email": user.email, "password": TestEnvironment.password, "tenant": other.slug.value])
            #expect(response.status == .unauthorized)
            // And a staff member cannot log in to the platform without a tenant.
            let platform = try await client.send(.post, "/api/v1/auth/login", json: ["email": user.email, "password": TestEnvironment.password])
            #expect(platform.status == .unauthorized)
        }
    }

    @Test func refreshRotatesOverHTTPAndLogoutEndsTheSession() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let tenant = try await env.createTenant("r")
        let user = try await env.createUser(in: tenant, role: .marketing)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let first = try await client.login(email: user.email, tenant: tenant.slug.value)
            let refreshed = try await client.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": first.refresh])
            #expect(refreshed.status == .ok)
            let access = try #require(refreshed["access_token"] as? String)
            #expect(try await client.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": first.refresh]).status == .unauthorized)
            #expect(try await client.send(.get, "/api/v1/me", token: access).status == .unauthorized)

            let second = try await client.login(email: user.email, tenant: tenant.slug.value)
            #expect(try await client.send(.post, "/api/v1/auth/logout", token: second.access).status == .noContent)
            #expect(try await client.send(.get, "/api/v1/me", token: second.access).status == .unauthorized)
            #expect(try await client.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": second.refresh]).status == .unauthorized)
        }
    }

    @Test func problemDetailsForBadRequests() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let app = env.application(try await env.services(clock: TestClock(Date()), maxBodyBytes: 1024))
        try await app.test(.router) { client in
            let unknown = try await client.send(.get, "/api/v1/no-such-thing")
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "application/problem+json")
            #expect(unknown["status"] as? Int == 404)

            let malformed = try await client.send(.post, "/api/v1/auth/login", rawBody: "{\"email\": \"a@b.nl\",")
            #expect(malformed.status == .badRequest)
            #expect((malformed["detail"] as? String)?.hasPrefix("The body is not valid JSON") == true)

            let missing = try await client.send(.post, "/api/v1/auth/login", json: ["email": "a@b.nl"])
            #expect(missing.status == .badRequest)
            #expect((missing["errors"] as? [[String: Any]])?.first?["field"] as? String == "password")

            let wrongType = try await client.send(.post, "/api/v1/auth/login", json: ["email": 12, "password": "x"])
            #expect((wrongType["errors"] as? [[String: Any]])?.first?["field"] as? String == "email")

            let huge = try await client.send(
                .post, "/api/v1/auth/login",
                json: ["email": "a@b.nl", "password": String(repeating: "x", count: 2000)])
            #expect(huge.status == .contentTooLarge)
            #expect(huge.headers[.contentType] == "application/problem+json")

            let short = try await client.send(.post, "/api/v1/auth/password", json: ["setup_token": "krs_x", "password": "short"])
            #expect(short.status == .unprocessableContent)
            #expect((short["errors"] as? [[String: Any]])?.first?["field"] as? String == "password")

            #expect(unknown.headers[.init("X-Request-ID")!] != nil)
        }
    }

    @Test func invitedAdminSetsAPasswordOnceAndLogsIn() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let clock = TestClock(Date())
        let services = try await env.services(clock: clock)
        let platformAdmin = try await env.createUser(in: nil, role: .platformAdmin)
        let app = env.application(services)
        try await app.test(.router) { client in
            let token = try await client.login(email: platformAdmin.email, tenant: nil, code: TestEnvironment.platformCode(at: clock.now)).access
            let slug = "h-\(UUID().uuidString.prefix(8).lowercased())"
            let created = try await client.send(
                .post, "/api/v1/admin/tenants", token: token,
                json: ["slug": slug, "name": "Bibliotheek Hilversum", "admin_email": "Beheer.\(slug)@Example.org"])
            #expect(created.status == .created)
            let admin = try #require(created["admin"] as? [String: Any])
            #expect(admin["email"] as? String == "beheer.\(slug)@example.org")
            let setupToken = try #require(admin["setup_token"] as? String)

            #expect(
                try await client.send(.post, "/api/v1/auth/password", json: ["setup_token": setupToken, "password": "een goed wachtwoord"]).status
                    == .noContent)
            #expect(
                try await client.send(.post, "/api/v1/auth/password", json: ["setup_token": setupToken, "password": "nog een wachtwoord"]).status
                    == .unauthorized)
            let me = try await client.send(
                .get, "/api/v1/me",
                token: try await client.login(email: "beheer.\(slug)@example.org", password: "een goed wachtwoord", tenant: slug).access)
            #expect(me["role"] as? String == "tenant_admin")

            let duplicate = try await client.send(.post, "/api/v1/admin/tenants", token: token, json: ["slug": slug, "name": "Again"])
            #expect(duplicate.status == .conflict)
            let invalid = try await client.send(.post, "/api/v1/admin/tenants", token: token, json: ["slug": "Bad Slug!", "name": ""])
            #expect(invalid.status == .unprocessableContent)
            #expect(Set((invalid["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }) == ["slug", "name"])
        }
    }

    @Test func suspendingATenantOverHTTPLocksItsStaffOutAtOnce() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let tenant = try await env.createTenant("s")
        let staff = try await env.createUser(in: tenant, role: .frontdesk)
        let platformAdmin = try await env.createUser(in: nil, role: .platformAdmin)
        let clock = TestClock(Date())
        let app = env.application(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let admin = try await client.login(email: platformAdmin.email, tenant: nil, code: TestEnvironment.platformCode(at: clock.now)).access
            let session = try await client.login(email: staff.email, tenant: tenant.slug.value).access
            let suspended = try await client.send(.patch, "/api/v1/admin/tenants/\(tenant.slug.value)", token: admin, json: ["status": "suspended"])
            #expect(suspended["status"] as? String == "suspended")
            #expect(try await client.send(.get, "/api/v1/me", token: session).status == .unauthorized)
            await #expect(throws: LoginFailed.self) { try await client.login(email: staff.email, tenant: tenant.slug.value) }
            _ = try await client.send(.patch, "/api/v1/admin/tenants/\(tenant.slug.value)", token: admin, json: ["status": "active"])
            #expect(try await client.send(.get, "/api/v1/me", token: session).status == .ok)
            let bad = try await client.send(.patch, "/api/v1/admin/tenants/\(tenant.slug.value)", token: admin, json: ["status": "gone"])
            #expect(bad.status == .unprocessableContent)
            #expect(try await client.send(.patch, "/api/v1/admin/tenants/no-such-lib", token: admin, json: ["status": "active"]).status == .notFound)
            // A platform token is no staff token: no way into a library's routes.
            #expect(try await client.send(.get, "/api/v1/users", token: admin).status == .forbidden)
        }
    }

    @Test func roleChangeEndsSessionsAndTheLastAdminStays() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let tenant = try await env.createTenant("l")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let colleague = try await env.createUser(in: tenant, role: .marketing)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let token = try await client.login(email: admin.email, tenant: tenant.slug.value).access
            let colleagueToken = try await client.login(email: colleague.email, tenant: tenant.slug.value).access
            let demoteSelf = try await client.send(.patch, "/api/v1/users/\(admin.id)", token: token, json: ["role": "analyst"])
            #expect(demoteSelf.status == .conflict)
            let changed = try await client.send(.patch, "/api/v1/users/\(colleague.id)", token: token, json: ["role": "relations"])
            #expect(changed["role"] as? String == "relations")
            #expect(try await client.send(.get, "/api/v1/me", token: colleagueToken).status == .unauthorized)
            let disabled = try await client.send(.patch, "/api/v1/users/\(colleague.id)", token: token, json: ["disabled": true])
            #expect(disabled["disabled"] as? Bool == true)
            await #expect(throws: LoginFailed.self) { try await client.login(email: colleague.email, tenant: tenant.slug.value) }
            let badRole = try await client.send(.patch, "/api/v1/users/\(colleague.id)", token: token, json: ["role": "platform_admin"])
            #expect(badRole.status == .unprocessableContent)
        }
    }

    @Test func apiKeyIsShownOnceAndWorksUntilRevoked() async throws {
        let env = try await TestEnvironment.forSuite("AuthRoutes")
        let tenant = try await env.createTenant("k")
        let admin = try await env.createUser(in: tenant, role: .tenantAdmin)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let token = try await client.login(email: admin.email, tenant: tenant.slug.value).access
            let created = try await client.send(.post, "/api/v1/api-keys", token: token, json: ["name": "Wise export", "scopes": ["imports:write"]])
            #expect(created.status == .created)
            let secret = try #require(created["secret"] as? String)
            let id = try #require((created["api_key"] as? [String: Any])?["id"] as? String)
            #expect(secret.hasPrefix("kr_test_\(id)_"))
            let listed = try await client.send(.get, "/api/v1/api-keys", token: token)
            #expect(!listed.text.contains(String(secret.suffix(64))))
            #expect(try await client.send(.get, "/api/v1/me", token: secret).status == .ok)
            #expect(try await client.send(.delete, "/api/v1/api-keys/\(id)", token: token).status == .noContent)
            #expect(try await client.send(.get, "/api/v1/me", token: secret).status == .unauthorized)
            let bad = try await client.send(.post, "/api/v1/api-keys", token: token, json: ["name": "x", "scopes": ["root"]])
            #expect(bad.status == .unprocessableContent)
        }
    }
}

@Suite struct AddressThrottleTests {
    /// The waits the login throttle asked for, in order.
    final class Pauses: Sendable {
        private let waits = Mutex<[TimeInterval]>([])
        var all: [TimeInterval] { waits.withLock { $0 } }
        var closure: @Sendable (TimeInterval) async -> Void { { wait in self.waits.withLock { $0.append(wait) } } }
    }

    static func attempt(
        _ client: some TestClientProtocol, email: String, password: String, tenant: Tenant, from address: String
    ) async throws -> JSONResponse {
        var headers = HTTPFields()
        headers[.init("X-Forwarded-For")!] = "10.0.0.1, \(address)"
        return try await client.send(
            .post, "/api/v1/auth/login", json: ["email": email, "password": password, "tenant": tenant.slug.value],
            headers: headers)
    }

    @Test func behindAProxyTheLastForwardedAddressIsSlowedDownNotTheProxyAndNotLockedOut() async throws {
        let env = try await TestEnvironment.forSuite("AddressThrottle")
        let tenant = try await env.createTenant("t")
        let user = try await env.createUser(in: tenant, role: .analyst)
        let pauses = Pauses()
        let app = env.application(try await env.services(clock: TestClock(Date()), configure: { $0.trustForwardedFor = true }, pause: pauses.closure))
        let throttle = LoginThrottle()
        try await app.test(.router) { client in
            // A password-spraying client: one guess per account, many accounts, one address.
            for index in 0..<(throttle.addressFreeFailures + 4) {
                let status = try await Self.attempt(
                    client, email: "guess\(index)@example.org", password: "wrong password here",
                    tenant: tenant, from: "203.0.113.9"
                ).status
                #expect(status == .unauthorized)
            }
            #expect(pauses.all.count == 3)
            // A colleague at the sprayed address still gets in, a little slower; one behind another address waits not at all.
            let sameAddress = try await Self.attempt(
                client, email: user.email, password: TestEnvironment.password, tenant: tenant, from: "203.0.113.9")
            #expect(sameAddress.status == .ok)
            let waits = pauses.all
            #expect(waits.count == 4)
            #expect(waits.last.map { abs($0 - 4 * throttle.addressDelayStep) < 0.01 } == true)
            let elsewhere = try await Self.attempt(
                client, email: user.email, password: TestEnvironment.password, tenant: tenant, from: "198.51.100.7")
            #expect(elsewhere.status == .ok)
            #expect(pauses.all.count == 4)
        }
    }

    /// One person guessing a colleague's password on the branch's shared address locks that account only: twenty
    /// colleagues behind the same address sign in at once, and the guessed account answers 429 with Retry-After.
    @Test func guessingOneAccountLocksItAndNotItsColleaguesBehindTheSameAddress() async throws {
        let env = try await TestEnvironment.forSuite("AddressThrottleBranch")
        let tenant = try await env.createTenant("t")
        let guessed = try await env.createUser(in: tenant, role: .frontdesk)
        var created: [String] = []
        for _ in 0..<20 { created.append(try await env.createUser(in: tenant, role: .frontdesk).email) }
        let colleagues = created
        let pauses = Pauses()
        let app = env.application(try await env.services(clock: TestClock(Date()), configure: { $0.trustForwardedFor = true }, pause: pauses.closure))
        let branch = "192.0.2.44"
        try await app.test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<30 {
                statuses.append(
                    try await Self.attempt(client, email: guessed.email, password: "wrong password here", tenant: tenant, from: branch).status)
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == LoginThrottle().accountFreeFailures)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 30 - LoginThrottle().accountFreeFailures)

            let results = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for email in colleagues {
                    group.addTask {
                        try await Self.attempt(client, email: email, password: TestEnvironment.password, tenant: tenant, from: branch).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0 == .ok })
            // Slowed down, never locked: each colleague waited at most the throttle's ceiling.
            #expect(pauses.all.count >= 20)
            #expect(pauses.all.allSatisfy { $0 > 0 && $0 <= LoginThrottle().addressMaxDelay })

            // Their successes did not unlock or extend anything: the guessed account is still locked, with the right password.
            let locked = try await Self.attempt(client, email: guessed.email, password: TestEnvironment.password, tenant: tenant, from: branch)
            #expect(locked.status == .tooManyRequests)
            let retryAfter = try #require(locked.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter > 0 && retryAfter <= Int(LoginThrottle().baseLock))
        }
    }

    /// Counters decay: an hour after a lock the account has its free attempts back without any success in between.
    @Test func failuresFadeWithoutASuccess() async throws {
        let env = try await TestEnvironment.forSuite("ThrottleDecay")
        let tenant = try await env.createTenant("t")
        let user = try await env.createUser(in: tenant, role: .analyst)
        let clock = TestClock(Date())
        let app = env.application(try await env.services(clock: clock) { $0.trustForwardedFor = true })
        let throttle = LoginThrottle()
        try await app.test(.router) { client in
            for _ in 0..<(throttle.accountFreeFailures + 1) {
                _ = try await Self.attempt(client, email: user.email, password: "wrong password here", tenant: tenant, from: "192.0.2.7")
            }
            #expect(
                try await Self.attempt(client, email: user.email, password: "wrong", tenant: tenant, from: "192.0.2.7").status == .tooManyRequests)
            clock.advance(by: 4 * throttle.halfLife)
            // Six failures halved four times leave less than one: three wrong guesses and the right password are all checked.
            for _ in 0..<3 {
                #expect(
                    try await Self.attempt(client, email: user.email, password: "wrong password here", tenant: tenant, from: "192.0.2.7").status
                        == .unauthorized)
            }
            #expect(
                try await Self.attempt(client, email: user.email, password: TestEnvironment.password, tenant: tenant, from: "192.0.2.7").status == .ok
            )
        }
    }
}

@Suite struct InvitationTests {
    /// Runs the queued invitation mails as the worker would, into a folder; answers each file's text.
    static func deliverInvitations(_ env: TestEnvironment, now: Date) async throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-invitations-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let handler = try #require(
            StaffInvitations.handlers(
                db: env.db, transport: FileTransport(folder: folder), publicURL: "https://kring.test", fallbackSender: "kring@bibliotheek.example",
                now: { now }, logger: Logger(label: "test"))[StaffInvitations.jobKind])
        let queue = JobQueue(db: env.db)
        for job in try await queue.claim(limit: 50, worker: "test", lease: .seconds(60), now: now) where job.kind == StaffInvitations.jobKind {
            try await handler(job)
            try await queue.complete(job, worker: "test", now: now)
        }
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return try files.map { String(decoding: try Data(contentsOf: $0), as: UTF8.self) }
    }

    /// The mail's text with quoted-printable soft line breaks and `=3D` undone, enough to read a link.
    static func plain(_ mail: String) -> String {
        mail.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "").replacingOccurrences(of: "=3D", with: "=")
    }

    /// An inviter learns nothing about the account: a new address and one that exists elsewhere get the same answer.
    /// The invitee learns the way in by mail: a link to choose a first password, or that the existing sign-in now
    /// opens this library too. The link works once, from a page in a browser.
    @Test func invitationsAnswerTheSameAndTheInviteeGetsTheLinkByMail() async throws {
        let env = try await TestEnvironment.forSuite("Invitations")
        let a = try await env.createTenant("a")
        let b = try await env.createTenant("b")
        let adminA = try await env.createUser(in: a, role: .tenantAdmin)
        let existing = try await env.createUser(in: b, role: .frontdesk)
        let app = env.application(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let token = try await client.login(email: adminA.email, tenant: a.slug.value).access
            let newcomer = "nieuw-\(UUID().uuidString.prefix(8).lowercased())@example.org"
            let invitedNew = try await client.send(.post, "/api/v1/users", token: token, json: ["email": newcomer, "role": "frontdesk"])
            let invitedExisting = try await client.send(.post, "/api/v1/users", token: token, json: ["email": existing.email, "role": "frontdesk"])
            #expect(invitedNew.status == .created)
            #expect(invitedExisting.status == .created)
            #expect(Set(invitedNew.json.keys) == Set(invitedExisting.json.keys))
            #expect(invitedNew["setup_token"] == nil)
            #expect(invitedExisting["setup_token"] == nil)
            // The staff list shows both as this library knows them: the name the inviter gave, joined now, switched on.
            let staff = try await client.send(.get, "/api/v1/users", token: token)
            let rows = (staff["items"] as? [[String: Any]] ?? []).filter { [newcomer, existing.email].contains($0["email"] as? String) }
            #expect(rows.count == 2)
            for key in ["display_name", "created_at", "disabled", "role"] {
                #expect(rows.first?[key] as? NSObject == rows.last?[key] as? NSObject, "\(key) tells the two apart")
            }

            let mails = try await Self.deliverInvitations(env, now: Date()).map(Self.plain)
            #expect(mails.count == 2)
            let toNew = try #require(mails.first { $0.contains("<\(newcomer)>") })
            let toExisting = try #require(mails.first { $0.contains("<\(existing.email)>") })
            #expect(!toExisting.contains("/wachtwoord/"))
            #expect(toExisting.contains("bestaande wachtwoord"))
            let link = try #require(toNew.firstMatch(of: /https:\/\/kring\.test\/wachtwoord\/(krs_[A-Za-z0-9_-]+)/))
            let path = "/wachtwoord/\(link.1)"

            let page = try await client.send(.get, path)
            #expect(page.status == .ok)
            #expect(page.text.contains("Kies je wachtwoord"))
            #expect(page.headers[.init("Referrer-Policy")!] == "no-referrer")
            func post(_ password: String, _ again: String) async throws -> FormResponse {
                try await client.postForm(path, [("password", password), ("password_again", again)])
            }
            let differing = try await post("een lange zin als wachtwoord", "een andere zin als wachtwoord")
            #expect(differing.status == .unprocessableContent)
            #expect(differing.text.contains("niet gelijk"))
            let chosen = try await post("een lange zin als wachtwoord", "een lange zin als wachtwoord")
            #expect(chosen.status == .ok)
            #expect(chosen.text.contains("Je wachtwoord is ingesteld"))
            _ = try await client.login(email: newcomer, password: "een lange zin als wachtwoord", tenant: a.slug.value)
            // Used once: the page and the form now say the link no longer works.
            #expect(try await client.send(.get, path).status == .badRequest)
            #expect(try await post("nog een lange zin hier", "nog een lange zin hier").status == .badRequest)
            // The existing account's password is untouched and it now opens library A too.
            _ = try await client.login(email: existing.email, tenant: a.slug.value)
        }
    }
}
