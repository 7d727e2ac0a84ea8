import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringTestSupport
import Logging
import Testing

/// "Wachtwoord vergeten": the same answer for every address, one mail per account per quarter of an hour, and a link
/// that sets a new password once.
@Suite("Forgotten password") struct ForgottenPasswordTests {
    @Test func theAnswerIsTheSameTheMailCarriesAOneTimeLinkAndRequestsAreNotRepeated() async throws {
        let env = try await TestEnvironment.forSuite("WebForgot")
        let tenant = try await env.createTenant("wf")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        let clock = TestClock(Date())
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.get("/wachtwoord-vergeten")
            let unknown = try await browser.post("/wachtwoord-vergeten", [("email", "niemand-\(UUID().uuidString.prefix(6))@example.org")])
            try await browser.get("/wachtwoord-vergeten")
            let known = try await browser.post("/wachtwoord-vergeten", [("email", user.email.uppercased())])
            #expect(unknown.status == .ok && known.status == .ok)
            #expect(try await browser.post("/wachtwoord-vergeten", [("email", user.email)], token: "").status == .forbidden)
            let sentence = "dan staat er binnen een paar minuten een mail in die inbox"
            #expect(unknown.contains(sentence) && known.contains(sentence))
            try await browser.get("/wachtwoord-vergeten")
            try await browser.post("/wachtwoord-vergeten", [("email", user.email)])
        }
        let queued = try await env.db.withPlatform { tx in
            try await tx.query("SELECT count(*)::int FROM platform.jobs WHERE kind = \(PasswordResets.jobKind)").decode(Int.self).first { _ in true }
        }
        #expect(queued == 1, "one mail for the account, none for the unknown address, none for the repeat")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-resets-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let handler = try #require(
            PasswordResets.handlers(
                db: env.db, transport: FileTransport(folder: folder), publicURL: "https://kring.test", fallbackSender: "kring@bibliotheek.example",
                now: clock.closure, logger: Logger(label: "test"))[PasswordResets.jobKind])
        let queue = JobQueue(db: env.db)
        for job in try await queue.claim(limit: 10, worker: "test", lease: .seconds(60), now: clock.now, kinds: [PasswordResets.jobKind]) {
            try await handler(job)
            try await queue.complete(job, worker: "test", now: clock.now)
        }
        let mails = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(mails.count == 1)
        let text = String(decoding: try Data(contentsOf: try #require(mails.first)), as: UTF8.self)
            .replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=3D", with: "=")
        #expect(text.contains("72 uur geldig"))
        let token = try #require(text.range(of: "https://kring.test/wachtwoord/").map { String(text[$0.upperBound...].prefix { !$0.isWhitespace }) })

        try await app.test(.router) { client in
            #expect(
                try await client.send(.post, "/api/v1/auth/password", json: ["setup_token": token, "password": "een nieuw goed wachtwoord"]).status
                    == .noContent)
            #expect(
                try await client.send(.post, "/api/v1/auth/password", json: ["setup_token": token, "password": "nog een ander wachtwoord"]).status
                    == .unauthorized)
            _ = try await client.login(email: user.email, password: "een nieuw goed wachtwoord", tenant: tenant.slug.value)
        }
    }
}
