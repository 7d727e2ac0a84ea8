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
import Testing

/// New customers, merging duplicates, the GDPR export and erasure, in the browser against a real PostgreSQL.
@Suite("Customer privacy pages") struct CustomerPrivacyPagesTests {
    @Test func aGuestIsEnrolledTwinsAreMergedTheDataDownloadsAndErasureNeedsTheWord() async throws {
        let env = try await TestEnvironment.forSuite("WebPrivacy")
        let tenant = try await env.createTenant("wp")
        let desk = try await env.createUser(in: tenant, role: .frontdesk)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let survivor = try await WebAppTests.customer(in: tenant, env: env, lastName: "Jansen")
        let app = try await env.webApplication(try await env.services(clock: TestClock(Date())))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(desk.email, password: TestEnvironment.password, library: tenant.slug.value)
            try await browser.get("/klanten/nieuw")
            let invalid = try await browser.post("/klanten/nieuw", [("kind", "guest"), ("last_name", "Jansen"), ("postcode", "12")])
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.contains("Vul een postcode in zoals 2011 AB."))
            #expect(invalid.field("last_name") == "Jansen")
            let created = try await browser.post(
                "/klanten/nieuw", [("kind", "guest"), ("first_name", "Saar"), ("last_name", "Jansen"), ("postcode", "2011 AB")])
            let guestPath = try #require(created.location?.components(separatedBy: "?").first)
            let guestID = String(guestPath.dropFirst("/klanten/".count))

            // Side by side, then merged after the explicit tick.
            let chooser = try await browser.get("/klanten/\(survivor.id.uuidString.lowercased())/samenvoegen?q=Jansen")
            #expect(chooser.contains("samenvoegen?met=\(guestID)"))
            let sideBySide = try await browser.get("/klanten/\(survivor.id.uuidString.lowercased())/samenvoegen?met=\(guestID)")
            #expect(sideBySide.contains("Gaat op in de andere"))
            let unticked = try await browser.post("/klanten/\(survivor.id.uuidString.lowercased())/samenvoegen", [("duplicate", guestID)])
            #expect(unticked.status == .unprocessableContent)
            let merged = try await browser.post(
                "/klanten/\(survivor.id.uuidString.lowercased())/samenvoegen", [("duplicate", guestID), ("confirm", "on")])
            #expect(merged.status == .seeOther)
            #expect(try await browser.get(guestPath).status == .notFound)

            let export = try await browser.get("/klanten/\(survivor.id.uuidString.lowercased())/export")
            #expect(export.status == .ok)
            #expect(export.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(export.html.contains("\"last_name\":\"Jansen\"") && export.html.contains(survivor.id.uuidString.lowercased()))

            let erasePath = "/klanten/\(survivor.id.uuidString.lowercased())/wissen"
            try await browser.get(erasePath)
            let wrongWord = try await browser.post(erasePath, [("confirmation", "ja")])
            #expect(wrongWord.status == .unprocessableContent)
            let erased = try await browser.post(erasePath, [("confirmation", "wissen")])
            #expect(erased.status == .seeOther)
            let page = try await browser.get("/klanten/\(survivor.id.uuidString.lowercased())")
            #expect(page.contains("zijn gewist") && !page.contains("Jansen"))

            // The analyst reads but exports and erases nothing.
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await reader.get("/klanten/\(survivor.id.uuidString.lowercased())/export").status == .forbidden)
            #expect(try await reader.get("/klanten/nieuw").status == .forbidden)
        }
        let actions = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT action FROM audit_log WHERE action IN ('customer.exported', 'customer.erased', 'customer.merged') ORDER BY id")
                .decode(String.self).reduce(into: [String]()) { $0.append($1) }
        }
        #expect(actions.contains("customer.exported") && actions.contains("customer.erased"))
    }
}
