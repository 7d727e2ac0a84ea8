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

/// Sign-up with double opt-in: the same answer for every address, a queued confirmation mail, a confirmation page
/// that changes nothing and a POST that confirms once.
@Suite struct PublicSubscriptionTests {
    /// The pending confirmation sends of `tenant`: (customer, email, confirm_url, list_name).
    func confirmationSends(in tenant: Tenant, env: TestEnvironment) async throws -> [(customer: UUID, email: String, url: String, list: String)] {
        try await env.db.withTenant(tenant) { tx in
            var sends: [(customer: UUID, email: String, url: String, list: String)] = []
            let rows = try await tx.query(
                """
                SELECT s.customer_id, s.email, s.context->>'confirm_url', s.context->>'list_name' FROM sends s JOIN campaigns c ON c.id = s.campaign_id
                WHERE c.system_key = 'double_opt_in' AND s.status = 'pending' AND s.priority = 0 ORDER BY s.created_at, s.id
                """)
            for try await row in rows.decode((UUID, String, String, String).self) { sends.append((row.0, row.1, row.2, row.3)) }
            return sends
        }
    }

    @Test func aSignUpIsConfirmedOnceThroughTheLinkInTheMail() async throws {
        let cast = try await TwoTenants.make(suite: "PublicSubscription")
        let list = try await cast.env.createList(in: cast.a, key: "nieuwsbrief", name: "Nieuwsbrief")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let signUp = try await client.postForm(
                "/s/\(cast.a.slug.value)/subscribe",
                [("email", "Nieuw@Example.nl"), ("first_name", "Noor"), ("lists", "nieuwsbrief")])
            #expect(signUp.status == .accepted, "\(signUp.text)")
            let sends = try await confirmationSends(in: cast.a, env: cast.env)
            #expect(sends.count == 1)
            let send = try #require(sends.first)
            #expect(send.email == "nieuw@example.nl")
            #expect(send.list == "Nieuwsbrief")
            #expect(send.url.hasPrefix("https://kring.test/s/\(cast.a.slug.value)/c/"))
            let pending = try #require(try await cast.env.latestConsent(in: cast.a, list: list, customer: send.customer))
            #expect(pending.status == .optedIn)
            #expect(pending.textVersion == list.consentVersion)
            #expect(pending.evidence["address"] == "nieuw@example.nl")
            #expect(pending.evidence["source"] == "sign_up_form")
            let customer = try await cast.env.db.withTenant(cast.a) { tx in
                try await Customers.read(id: send.customer, by: .system, now: Date(), in: tx)
            }
            #expect(customer.roles == [.visitor])
            #expect(customer.firstName == "Noor")

            let path = String(send.url.dropFirst("https://kring.test".count))
            let page = try await client.send(.get, path)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("Nieuwsbrief") && page.text.contains("<form method=\"post\">"))
            #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: send.customer)?.status == .optedIn)

            let confirmed = try await client.send(.post, path)
            #expect(confirmed.status == .ok)
            let latest = try #require(try await cast.env.latestConsent(in: cast.a, list: list, customer: send.customer))
            #expect(latest.status == .confirmed)
            #expect(latest.confirmedAt != nil)
            #expect(latest.evidence["address"] == "nieuw@example.nl")
            #expect(latest.evidence["source"] == "double_opt_in")
            #expect(latest.evidence["opt_in_id"] == String(pending.id))

            // A second POST changes nothing.
            let again = try await client.send(.post, path)
            #expect(again.status == .ok)
            #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: send.customer)?.id == latest.id)
        }
    }

    @Test func everyAddressGetsTheSameAnswer() async throws {
        let cast = try await TwoTenants.make(suite: "PublicSubscription")
        let list = try await cast.env.createList(in: cast.a, key: "activiteiten")
        let known = try await cast.env.createCustomer(in: cast.a)
        let confirmed = try await cast.env.createCustomer(in: cast.a)
        try await cast.env.recordConsent(in: cast.a, list: list, customer: confirmed.id, status: .confirmed)
        let bounced = try await cast.env.createCustomer(in: cast.a)
        _ = try await cast.env.db.withTenant(cast.a) { tx in
            try await Suppressions.suppress(EmailAddress(bounced.email ?? "")!, reason: .hardBounce, by: .system, now: Date(), in: tx)
        }
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            var answers: Set<String> = []
            for email in ["onbekend@example.nl", known.email, confirmed.email, bounced.email].compactMap({ $0 }) {
                let response = try await client.send(.post, "/s/\(cast.a.slug.value)/subscribe", json: ["email": email, "lists": ["activiteiten"]])
                #expect(response.status == .accepted)
                answers.insert(response.text)
            }
            #expect(answers.count == 1)
            // The known customer signed up (no new customer); the confirmed one and the bounced address get no mail.
            let mailed = Set(try await confirmationSends(in: cast.a, env: cast.env).map(\.email))
            #expect(mailed == ["onbekend@example.nl", known.email ?? ""])
            #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: known.id)?.status == .optedIn)

            let unknownList = try await client.send(
                .post, "/s/\(cast.a.slug.value)/subscribe", json: ["email": "x@example.nl", "lists": ["bestaat-niet"]])
            #expect(unknownList.status == .unprocessableContent)
            let hidden = try await cast.env.db.withTenant(cast.a) { tx in
                try await SubscriptionLists.create(
                    SubscriptionListDraft(key: "intern", name: "Intern", consentText: "Ja.", public: false),
                    by: .system, now: Date(), in: tx)
            }
            let notPublic = try await client.send(.post, "/s/\(cast.a.slug.value)/subscribe", json: ["email": "x@example.nl", "lists": [hidden.key]])
            #expect(notPublic.status == .unprocessableContent)
            let noLibrary = try await client.send(.post, "/s/bestaat-niet/subscribe", json: ["email": "x@example.nl", "lists": ["activiteiten"]])
            #expect(noLibrary.status == .notFound)
        }
        // B knows nothing of A's sign-ups.
        #expect(try await confirmationSends(in: cast.b, env: cast.env).isEmpty)
    }

    @Test func anExpiredConfirmationLinkAnswers400() async throws {
        let cast = try await TwoTenants.make(suite: "PublicSubscription")
        let list = try await cast.env.createList(in: cast.a, key: "jeugd")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            _ = try await client.send(.post, "/s/\(cast.a.slug.value)/subscribe", json: ["email": "laat@example.nl", "lists": ["jeugd"]])
            let send = try #require(try await confirmationSends(in: cast.a, env: cast.env).first)
            let path = String(send.url.dropFirst("https://kring.test".count))
            cast.clock.advance(by: PublicLinks.confirmLifetime + 60)
            let expired = try await client.send(.post, path)
            #expect(expired.status == .badRequest)
            #expect(expired.headers[.contentType] == "text/html; charset=utf-8")
            #expect(try await cast.env.latestConsent(in: cast.a, list: list, customer: send.customer)?.status == .optedIn)
            let tampered = try await client.send(.get, String(path.dropLast(2)) + "xx")
            #expect(tampered.status == .badRequest)
        }
    }
}
