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

/// The preference centre: lists ticked when confirmed, choices applied at once, everything printed escaped.
@Suite struct PublicPreferencesTests {
    @Test func thePageShowsAndAppliesTheCustomersChoices() async throws {
        let cast = try await TwoTenants.make(suite: "PublicPreferences")
        let weekly = try await cast.env.createList(in: cast.a, key: "week", name: "Weekbrief <b>")
        let youth = try await cast.env.createList(in: cast.a, key: "jeugd", name: "Jeugd")
        let branch = try await cast.env.db.withTenant(cast.a) { tx in
            try await Branches.create(BranchDraft(name: "Centrale & Co", municipality: "Haarlem"), by: .system, now: Date(), in: tx)
        }
        let customer = try await cast.env.createCustomer(in: cast.a)
        try await cast.env.recordConsent(in: cast.a, list: weekly, customer: customer.id, status: .confirmed, at: cast.clock.now)
        let url = String(
            TestEnvironment.links.preferences(tenant: cast.a.slug.value, customerID: customer.id, now: cast.clock.now)
                .dropFirst("https://kring.test".count))
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let page = try await client.send(.get, url)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"value="week" checked"#))
            #expect(page.text.contains(#"value="jeugd">"#))
            #expect(page.text.contains("Weekbrief &lt;b&gt;") && !page.text.contains("Weekbrief <b>"))
            #expect(page.text.contains("Centrale &amp; Co"))

            let saved = try await client.postForm(
                url,
                [
                    ("list", "jeugd"), ("branch", branch.id.uuidString.lowercased()), ("genres", "Thrillers, koken"),
                    ("action", "save"),
                ])
            #expect(saved.status == .ok, "\(saved.text)")
            #expect(saved.text.contains(#"value="jeugd" checked"#))
        }
        let confirmed = try #require(try await cast.env.latestConsent(in: cast.a, list: youth, customer: customer.id))
        #expect(confirmed.status == .confirmed)
        #expect(confirmed.evidence["source"] == "preference_centre")
        #expect(try await cast.env.latestConsent(in: cast.a, list: weekly, customer: customer.id)?.status == .withdrawn)
        let after = try await cast.env.db.withTenant(cast.a) { tx in try await Customers.read(id: customer.id, by: .system, now: Date(), in: tx) }
        #expect(after.favouriteBranchID == branch.id)
        #expect(after.genres == ["koken", "thrillers"])
        #expect(try await cast.tenantAuditCount("customer.updated", tenant: cast.a) == 1)
    }

    @Test func unsubscribeFromAllWithdrawsEveryListAndSuppressesMarketing() async throws {
        let cast = try await TwoTenants.make(suite: "PublicPreferences")
        let list = try await cast.env.createList(in: cast.a)
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        try await cast.env.recordConsent(in: cast.a, list: list, customer: customer.id, status: .confirmed, at: cast.clock.now)
        let pending = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: email)
        let url = String(
            TestEnvironment.links.preferences(tenant: cast.a.slug.value, customerID: customer.id, now: cast.clock.now)
                .dropFirst("https://kring.test".count))
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let response = try await client.postForm(url, [("action", "unsubscribe_all")])
            #expect(response.status == .ok)
        }
        #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: customer.id)?.status == .withdrawn)
        #expect(try await cast.env.sendStatus(pending.send, in: cast.a) == "cancelled")
        let blocked = try await cast.env.db.withTenant(cast.a) { tx in try await Suppressions.suppressed([email], marketing: true, in: tx) }
        #expect(blocked == [email])
    }
}
