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

/// A link of library A used on library B's paths answers 404 and changes nothing in either library; a suspended
/// library's links answer 404.
@Suite struct PublicCrossTenantTests {
    enum Route: String, CaseIterable, Sendable {
        case confirmPage, confirm, unsubscribePage, unsubscribe, preferencesPage, preferences, evaluationPage, evaluate, open, click
    }

    @Test(arguments: Route.allCases)
    func aLinkOfLibraryANeverActsOnLibraryB(route: Route) async throws {
        let cast = try await TwoTenants.make(suite: "PublicCrossTenant")
        let links = TestEnvironment.links
        let list = try await cast.env.createList(in: cast.a, key: "nieuws")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        let consent = try await cast.env.db.withTenant(cast.a) { tx in
            try await Consents.record(
                ConsentDraft(topic: list.topic, status: "opted_in", source: "web_form", textVersion: list.consentVersion),
                customerID: customer.id, by: .system, now: Date(), in: tx)
        }
        let mailed = try await cast.env.createSend(in: cast.a, list: list, customer: customer.id, email: email, status: "sent")
        let attended = try await cast.env.createActivityFixtures(
            in: cast.a, customers: (try await cast.env.createCustomer(in: cast.a).id, customer.id)
        ).attended
        let now = cast.clock.now
        let a = cast.a.slug.value
        let (method, url): (HTTPRequest.Method, String) =
            switch route {
            case .confirmPage: (.get, links.confirm(tenant: a, consentID: consent.id, now: now))
            case .confirm: (.post, links.confirm(tenant: a, consentID: consent.id, now: now))
            case .unsubscribePage: (.get, links.unsubscribe(tenant: a, sendID: mailed.send, now: now))
            case .unsubscribe: (.post, links.unsubscribe(tenant: a, sendID: mailed.send, now: now))
            case .preferencesPage: (.get, links.preferences(tenant: a, customerID: customer.id, now: now))
            case .preferences: (.post, links.preferences(tenant: a, customerID: customer.id, now: now))
            case .evaluationPage: (.get, links.evaluate(tenant: a, registrationID: attended, now: now))
            case .evaluate: (.post, links.evaluate(tenant: a, registrationID: attended, now: now))
            case .open: (.get, links.openPixel(tenant: a, sendID: mailed.send, now: now))
            case .click: (.get, links.click(tenant: a, sendID: mailed.send, url: "https://bibliotheek.example/", now: now))
            }
        let pathA = String(url.dropFirst("https://kring.test".count))
        let pathB = pathA.replacingOccurrences(of: "/\(a)/", with: "/\(cast.b.slug.value)/")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let onB: FormResponse
            if method == .post {
                onB = try await client.postForm(pathB, [("action", "unsubscribe_all"), ("List-Unsubscribe", "One-Click"), ("score", "8")])
            } else {
                let response = try await client.send(method, pathB)
                onB = FormResponse(status: response.status, headers: response.headers, text: response.text)
            }
            #expect(onB.status == .notFound, "\(route): \(onB.status)")
            #expect(onB.headers[.location] == nil)
            #expect(!onB.text.contains(email) && !onB.text.contains(list.name))
        }
        #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: customer.id)?.id == consent.id)
        #expect(try await cast.env.events(of: mailed.send, in: cast.a).isEmpty)
        let suppressed = try await cast.env.db.withTenant(cast.a) { tx in try await Suppressions.suppressed([email], marketing: true, in: tx) }
        #expect(suppressed.isEmpty)
        for tenant in [cast.a, cast.b] {
            #expect(
                try await cast.env.db.withTenant(tenant) { tx in
                    try await tx.query("SELECT count(*)::int FROM evaluations").decode(Int.self).reduce(0, +)
                } == 0)
        }

        // Suspended: A's own links answer 404 too.
        _ = try await cast.env.owner.withPlatform { tx in try await TenantDirectory.setStatus(.suspended, slug: cast.a.slug, now: Date(), in: tx) }
        try await app.test(.router) { client in
            let response = try await client.send(method, pathA)
            #expect(response.status == .notFound)
        }
    }
}
