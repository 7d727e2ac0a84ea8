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

/// The evaluation link of the third-half mail: the page changes nothing, the form records one evaluation per attended
/// registration, and a link that cannot be used answers 404.
@Suite struct PublicEvaluationTests {
    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }
    func path(_ url: String) -> String { String(url.dropFirst("https://kring.test".count)) }

    @Test func theThirdHalfMailLinksToAFormThatRecordsTheEvaluationOnce() async throws {
        // 10 March 2027, 08:00 in the Netherlands; the Taalcafé was last night.
        let library = try await MailLibrary.make("PublicEvaluationMail", clock: TestClock(Self.date("2027-03-10T07:00:00Z")))
        let template = try await library.env.db.withTenant(library.tenant) { tx in
            try await Templates.create(
                TemplateDraft(
                    name: "Derde helft", subject: "Hoe was {{activity.title}}?",
                    html: #"<p>Wat vond je ervan?</p><p><a href="{{{evaluation_url}}}">Geef je cijfer</a></p>"#,
                    text: "Wat vond je ervan? Geef je cijfer: {{{evaluation_url}}}"),
                by: .system, now: library.clock.now, in: tx
            ).id
        }
        _ = try await library.campaign(
            CampaignDraft(
                name: "Derde helft", kind: .journey, purpose: .service,
                journey: Journey(trigger: .thirdHalf, days: 1, steps: [.init(templateID: template)])))
        let quinn = try await library.member("Quinn", subscribed: false)
        let registration = try await library.env.db.withTenant(library.tenant) { tx in
            let activity = try await Activities.create(
                ActivityDraft(
                    title: "Taalcafé", category: "nt2", startsAt: Self.date("2027-03-09T18:00:00Z"),
                    endsAt: Self.date("2027-03-09T19:30:00Z")), by: .system, now: library.clock.now, in: tx)
            let booked = try await Activities.register(
                customerID: quinn.id, activityID: activity.id, source: .staff, pricePaidCents: 0, by: .system,
                now: library.clock.now, in: tx)
            return try await Activities.setStatus(registrationID: booked.id, to: .attended, by: .system, now: library.clock.now, in: tx).id
        }
        #expect(try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.tick(now: library.clock.now, in: tx) } == 1)
        library.clock.advance(by: 3600 + 60)
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await library.drain(try library.worker(sink))
        let mail = try #require(try sink.received().first { $0.recipients == [quinn.email] })
        #expect(mail.header("Subject") == "Hoe was Taalcafé?")
        let text = try #require(mail.parts.first { $0.contentType == "text/plain" }?.text)
        let match = try #require(text.firstMatch(of: /https:\/\/kring\.test\/s\/[a-z0-9-]+\/e\/[A-Za-z0-9_.-]+/))
        let url = String(match.output)
        #expect(url.hasPrefix("https://kring.test/s/\(library.tenant.slug.value)/e/"))
        #expect(mail.parts.first { $0.contentType == "text/html" }?.text?.contains(#"href="\#(url)""#) == true)

        let app = library.env.application(try await library.env.services(clock: library.clock))
        try await app.test(.router) { client in
            let page = try await client.send(.get, path(url))
            #expect(page.status == .ok)
            #expect(page.text.contains("Taalcafé") && page.text.contains("dinsdag 9 maart") && page.text.contains(#"name="score""#))
            #expect(try await evaluation(registration, library.env, library.tenant) == nil)

            let saved = try await client.postForm(path(url), [("score", "8"), ("comment", "Gezellig & leerzaam")])
            #expect(saved.status == .ok, "\(saved.text)")
            #expect(saved.text.contains("Bedankt"))
            let again = try await client.postForm(path(url), [("score", "3"), ("comment", "Toch niet")])
            #expect(again.status == .ok)
            #expect(again.text.contains("al beoordeeld"))
            let after = try await client.send(.get, path(url))
            #expect(after.status == .ok)
            #expect(after.text.contains("al beoordeeld") && !after.text.contains(#"name="score""#))
        }
        let stored = try await evaluation(registration, library.env, library.tenant)
        #expect(stored?.score == 8 && stored?.comment == "Gezellig & leerzaam")
        let audit = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query(
                """
                SELECT actor_user_id, actor_api_key_id, details ->> 'via', subject_id FROM audit_log WHERE action = 'evaluation.created'
                """
            ).decode((UUID?, String?, String?, String?).self).reduce(into: [(UUID?, String?, String?, String?)]()) { $0.append($1) }
        }
        #expect(audit.count == 1)
        #expect(audit.first?.0 == nil && audit.first?.1 == nil && audit.first?.2 == "evaluation_link")
        #expect(audit.first?.3 == quinn.id.uuidString.lowercased())
    }

    @Test func aBadScoreAnUnattendedRegistrationAndUnusableLinksRecordNothing() async throws {
        let cast = try await TwoTenants.make(suite: "PublicEvaluation")
        let came = try await cast.env.createCustomer(in: cast.a)
        let stayedAway = try await cast.env.createCustomer(in: cast.a)
        let fixtures = try await cast.env.createActivityFixtures(in: cast.a, customers: (stayedAway.id, came.id))
        let links = TestEnvironment.links
        let a = cast.a.slug.value
        let now = cast.clock.now
        let attended = path(links.evaluate(tenant: a, registrationID: fixtures.attended, now: now))
        let booked = path(links.evaluate(tenant: a, registrationID: fixtures.registration, now: now))
        let unusable = [
            path(links.evaluate(tenant: a, registrationID: fixtures.attended, now: now - PublicLinks.mailLinkLifetime - 60)),  // expired
            attended + "x",  // tampered
            path(links.preferences(tenant: a, customerID: came.id, now: now)).replacingOccurrences(of: "/p/", with: "/e/"),  // another purpose
            path(links.evaluate(tenant: a, registrationID: UUID(), now: now)),  // unknown registration
            "/s/\(a)/e/niet-een-token",
        ]
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            for score in ["0", "11", "acht", ""] {
                let response = try await client.postForm(attended, [("score", score), ("comment", "Prima")])
                #expect(response.status == .badRequest, "score '\(score)': \(response.status)")
                #expect(response.text.contains("Kies een cijfer van 1 tot en met 10."))
            }
            let long = try await client.postForm(attended, [("score", "7"), ("comment", String(repeating: "a", count: 4001))])
            #expect(long.status == .badRequest)
            #expect(long.text.contains("4000 tekens"))

            let notYet = try await client.send(.get, booked)
            #expect(notYet.status == .conflict)
            #expect(!notYet.text.contains(#"name="score""#))
            let notAttended = try await client.postForm(booked, [("score", "9")])
            #expect(notAttended.status == .conflict)

            for url in unusable {
                let page = try await client.send(.get, url)
                #expect(page.status == .notFound, "GET \(url): \(page.status)")
                let posted = try await client.postForm(url, [("score", "9")])
                #expect(posted.status == .notFound, "POST \(url): \(posted.status)")
            }
        }
        #expect(try await evaluation(fixtures.attended, cast.env, cast.a) == nil)
        #expect(try await evaluation(fixtures.registration, cast.env, cast.a) == nil)
        #expect(try await cast.tenantAuditCount("evaluation.created", tenant: cast.a) == 0)
    }

    func evaluation(_ registration: UUID, _ env: TestEnvironment, _ tenant: Tenant) async throws -> (score: Int, comment: String?)? {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT score, comment FROM evaluations WHERE registration_id = \(registration)").decode((Int, String?).self)
                .reduce(nil) { _, row in (score: row.0, comment: row.1) }
        }
    }
}
