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

/// Unsubscribe links: the page changes nothing, the RFC 8058 one-click POST takes effect at once.
@Suite struct PublicUnsubscribeTests {
    func path(_ url: String) -> String { String(url.dropFirst("https://kring.test".count)) }

    @Test func oneClickWithdrawsTheListAndCancelsItsPendingMail() async throws {
        let cast = try await TwoTenants.make(suite: "PublicUnsubscribe")
        let list = try await cast.env.createList(in: cast.a, name: "Jeugdnieuws")
        let other = try await cast.env.createList(in: cast.a, name: "Cultuur")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        for subscribed in [list, other] {
            try await cast.env.recordConsent(in: cast.a, list: subscribed, customer: customer.id, status: .confirmed, at: cast.clock.now)
        }
        let mailed = try await cast.env.createSend(in: cast.a, list: list, customer: customer.id, email: email, status: "sent")
        let next = try await cast.env.createSend(in: cast.a, list: list, customer: customer.id, email: email)
        let otherList = try await cast.env.createSend(in: cast.a, list: other, customer: customer.id, email: email)
        let url = path(TestEnvironment.links.unsubscribe(tenant: cast.a.slug.value, sendID: mailed.send, now: cast.clock.now))
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let page = try await client.send(.get, url)
            #expect(page.status == .ok)
            #expect(page.text.contains("Jeugdnieuws"))
            #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: customer.id)?.status == .confirmed)
            #expect(try await cast.env.events(of: mailed.send, in: cast.a).isEmpty)

            let oneClick = try await client.postForm(url, [("List-Unsubscribe", "One-Click")])
            #expect(oneClick.status == .ok)
            let again = try await client.postForm(url, [("List-Unsubscribe", "One-Click")])
            #expect(again.status == .ok)
        }
        let withdrawn = try #require(try await cast.env.latestConsent(in: cast.a, list: list, customer: customer.id))
        #expect(withdrawn.status == .withdrawn)
        #expect(withdrawn.evidence["send_id"] == mailed.send.uuidString.lowercased())
        #expect(try await cast.env.latestConsent(in: cast.a, list: other, customer: customer.id)?.status == .confirmed)
        #expect(try await cast.env.sendStatus(next.send, in: cast.a) == "cancelled")
        #expect(try await cast.env.sendStatus(otherList.send, in: cast.a) == "pending")
        #expect(try await cast.env.events(of: mailed.send, in: cast.a).map(\.kind) == ["unsubscribed"])
        #expect(try await cast.tenantAuditCount("campaign.unsubscribed", tenant: cast.a) == 1)
        let history = try await cast.env.db.withTenant(cast.a) { tx in try await Consents.history(customerID: customer.id, in: tx) }
        #expect(history.filter { $0.status == .withdrawn }.count == 1)
    }

    @Test func unsubscribingFromASegmentMailingStopsAllMarketingMail() async throws {
        let cast = try await TwoTenants.make(suite: "PublicUnsubscribe")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        let mailed = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: email, status: "sent")
        let next = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: email)
        let url = path(TestEnvironment.links.unsubscribe(tenant: cast.a.slug.value, sendID: mailed.send, now: cast.clock.now))
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let response = try await client.postForm(url, [("List-Unsubscribe", "One-Click")])
            #expect(response.status == .ok)
        }
        let suppressed = try await cast.env.db.withTenant(cast.a) { tx in
            (
                try await Suppressions.suppressed([email], marketing: true, in: tx),
                try await Suppressions.suppressed([email], marketing: false, in: tx)
            )
        }
        #expect(suppressed.0 == [email])
        #expect(suppressed.1.isEmpty)
        #expect(try await cast.env.sendStatus(next.send, in: cast.a) == "cancelled")
        #expect(try await cast.env.events(of: mailed.send, in: cast.a).map(\.kind) == ["unsubscribed"])
        let timeline = try await cast.env.db.withTenant(cast.a) { tx in
            try await Timeline.list(customerID: customer.id, before: nil, limit: 20, by: .system, now: Date(), in: tx)
        }
        #expect(timeline.contains { $0.event == "mail.unsubscribed" })
    }
}
