import Foundation
import HTTPTypes
import HummingbirdTesting
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Opens and clicks: recorded only with `mail_tracking` on; a click redirects only to the URL its token signs.
@Suite struct PublicTrackingTests {
    func path(_ url: String) -> String { String(url.dropFirst("https://kring.test".count)) }

    func setTracking(_ on: Bool, in tenant: Tenant, env: TestEnvironment) async throws {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO settings (key, value, updated_at) VALUES ('mail_tracking', \(on ? "true" : "false")::jsonb, now())
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """)
        }
    }

    @Test(arguments: [false, true])
    func opensAndClicksAreRecordedOnlyWhenTheLibraryTracks(tracking: Bool) async throws {
        let cast = try await TwoTenants.make(suite: "PublicTracking")
        try await setTracking(tracking, in: cast.a, env: cast.env)
        let customer = try await cast.env.createCustomer(in: cast.a)
        let mailed = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: customer.email ?? "", status: "sent")
        let target = "https://bibliotheek.example/agenda?maand=mei&x=1"
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let pixel = try await client.send(
                .get, path(TestEnvironment.links.openPixel(tenant: cast.a.slug.value, sendID: mailed.send, now: cast.clock.now)))
            #expect(pixel.status == .ok)
            #expect(pixel.headers[.contentType] == "image/gif")
            #expect(pixel.headers[.cacheControl] == "no-store")
            #expect(pixel.body.count == 43)
            let click = try await client.send(
                .get, path(TestEnvironment.links.click(tenant: cast.a.slug.value, sendID: mailed.send, url: target, now: cast.clock.now)))
            #expect(click.status == .found)
            #expect(click.headers[.location] == target)
        }
        let events = try await cast.env.events(of: mailed.send, in: cast.a)
        if tracking {
            #expect(events.map(\.kind) == ["opened", "clicked"])
            #expect(events.last?.url == target)
        } else {
            #expect(events.isEmpty)
        }
    }

    @Test func aClickWithAnotherURLIsRefusedNotRedirected() async throws {
        let cast = try await TwoTenants.make(suite: "PublicTracking")
        try await setTracking(true, in: cast.a, env: cast.env)
        let customer = try await cast.env.createCustomer(in: cast.a)
        let mailed = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: customer.email ?? "", status: "sent")
        let signed = path(
            TestEnvironment.links.click(tenant: cast.a.slug.value, sendID: mailed.send, url: "https://bibliotheek.example/", now: cast.clock.now))
        let token = String(try #require(signed.split(separator: "?").first))
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            for foreign in ["?u=https%3A%2F%2Fevil.example%2F", "?u=", ""] {
                let response = try await client.send(.get, token + foreign)
                #expect(response.status == .badRequest, "\(foreign)")
                #expect(response.headers[.location] == nil)
            }
            // An open-pixel token is no click token.
            let pixel = path(TestEnvironment.links.openPixel(tenant: cast.a.slug.value, sendID: mailed.send, now: cast.clock.now))
            let wrongPurpose = try await client.send(
                .get, pixel.replacingOccurrences(of: "/o/", with: "/c/") + "?u=https%3A%2F%2Fbibliotheek.example%2F")
            #expect(wrongPurpose.status == .badRequest)
        }
        #expect(try await cast.env.events(of: mailed.send, in: cast.a).isEmpty)
    }
}
