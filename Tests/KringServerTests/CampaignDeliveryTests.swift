import Foundation
import HummingbirdTesting
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringTestSupport
import PostgresNIO
import Testing

/// A small library with branches, customers, a list and a template, for campaign tests against PostgreSQL and a
/// real SMTP server.
struct MailLibrary {
    let env: TestEnvironment
    let tenant: Tenant
    let clock: TestClock
    let branches: [UUID]
    let list: UUID
    let listKey: String
    let template: UUID

    static func make(_ suite: String, clock: TestClock = TestClock()) async throws -> MailLibrary {
        let env = try await TestEnvironment.forSuite(suite)
        let tenant = try await env.createTenant("mail")
        let now = clock.now
        let branches = [UUID(), UUID()]
        let list = UUID()
        let key = "nieuwsbrief"
        var templateID = UUID()
        try await env.db.withTenant(tenant) { tx in
            for (index, branch) in branches.enumerated() {
                try await tx.query(
                    "INSERT INTO branches (id, name, municipality, created_at) VALUES (\(branch), \(["Haarlem Centrum", "Zandvoort"][index]), 'Haarlem', \(now))"
                )
            }
            try await tx.query(
                """
                INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
                VALUES (\(list), \(key), 'Nieuwsbrief', 'Ja, stuur mij de nieuwsbrief.', 'v1', \(now), \(now))
                """)
            let created = try await Templates.create(
                TemplateDraft(
                    name: "Nieuwsbrief", subject: "Nieuws voor {{customer.first_name}}",
                    html:
                        "<p>Beste {{customer.first_name}},</p><p><a href=\"https://bibliotheek.example/agenda\">Agenda</a></p><p><a href=\"{{unsubscribe_url}}\">Afmelden</a></p>",
                    text: "Beste {{customer.first_name}}, afmelden: {{unsubscribe_url}}"), by: .system, now: now, in: tx)
            templateID = created.id
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_address', '\"nieuws@bibliotheek.example\"', \(now))")
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_name', '\"Bibliotheek Zuid-Kennemerland\"', \(now))")
        }
        return MailLibrary(env: env, tenant: tenant, clock: clock, branches: branches, list: list, listKey: key, template: templateID)
    }

    /// A member with an e-mail address; `subscribed` gives a confirmed statement on the list.
    @discardableResult
    func member(
        _ firstName: String, branch: Int = 0, subscribed: Bool = true, memberType: String = "adult", start: String = "2015-03-01",
        birthDate: String = "1980-05-05"
    ) async throws -> (id: UUID, email: String) {
        let id = UUID()
        let email = "\(firstName.lowercased())-\(UUID().uuidString.prefix(6).lowercased())@example.nl"
        let now = clock.now
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name, email,
                                       birth_date, favourite_branch_id, created_at, updated_at)
                VALUES (\(id), '{member}', \(String(UUID().uuidString.prefix(10))), \(memberType), 'active', \(start)::date, \(firstName), 'Jansen', \(email),
                        \(birthDate)::date, \(branches[branch]), \(now), \(now))
                """)
            if subscribed {
                try await tx.query(
                    """
                    INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
                    VALUES (\(id), \("list:" + listKey), 'confirmed', \(now), 'staff', 'v1', \(now))
                    """)
            }
        }
        return (id, email)
    }

    func worker(_ sink: SMTPSink?, port: Int? = nil, name: String = "w1", connections: Int = 2) throws -> SendWorker {
        let configuration = SMTPConfiguration(
            host: "127.0.0.1", port: port ?? sink?.port ?? 1, tls: .none, heloName: "kring.test",
            timeouts: .init(connect: .seconds(2), command: .seconds(5), data: .seconds(5)))
        var options = SendWorker.Options()
        options.name = name
        options.connections = connections
        return SendWorker(
            db: env.db, transport: try SMTPTransport(configuration), links: TestEnvironment.links, options: options,
            now: clock.closure, logger: .init(label: "send-test"))
    }

    func campaign(_ draft: CampaignDraft) async throws -> Campaign {
        try await env.db.withTenant(tenant) { tx in
            let created = try await Campaigns.create(draft, by: .system, now: clock.now, in: tx)
            return try await Campaigns.schedule(id: created.id, at: nil, by: .system, now: clock.now, in: tx)
        }
    }

    func sendStatuses(_ campaign: UUID) async throws -> [String: String] {
        try await env.db.withTenant(tenant) { tx in
            var result: [String: String] = [:]
            for try await (email, status) in try await tx.query("SELECT email, status FROM sends WHERE campaign_id = \(campaign)").decode(
                (String, String).self)
            {
                result[email] = status
            }
            return result
        }
    }

    /// Runs the worker until a pass settles nothing.
    func drain(_ worker: SendWorker) async throws {
        while try await worker.runOnce() > 0 {}
    }
}

@Suite struct CampaignDeliveryTests {
    @Test func aListCampaignNarrowedToOneBranchArrivesPersonalisedOncePerRecipient() async throws {
        let library = try await MailLibrary.make("CampaignDelivery")
        let anna = try await library.member("Anna", branch: 0)
        let bram = try await library.member("Bram", branch: 0)
        _ = try await library.member("Cor", branch: 1)  // other branch
        _ = try await library.member("Dirk", branch: 0, subscribed: false)  // no consent
        let eva = try await library.member("Eva", branch: 0)
        let segment = try await library.env.db.withTenant(library.tenant) { tx in
            try await Segments.create(
                SegmentDraft(
                    name: "Centrum",
                    rule: .condition(
                        SegmentCondition(
                            field: "favourite_branch", op: "=",
                            value: .string(library.branches[0].uuidString.lowercased())))),
                by: .system, now: library.clock.now, in: tx)
        }
        let campaign = try await library.campaign(
            CampaignDraft(
                name: "Nieuwsbrief Centrum", listID: library.list, segmentID: segment.id,
                templateID: library.template))
        #expect(campaign.state == .sending)
        #expect(campaign.recipients == 3)
        // Eva's address bounces hard after the snapshot: checked again before delivery.
        try await library.env.db.withTenant(library.tenant) { tx in
            _ = try await Suppressions.suppress(EmailAddress(eva.email)!, reason: .hardBounce, by: .system, now: library.clock.now, in: tx)
        }
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await library.drain(try library.worker(sink))

        let received = try sink.received()
        #expect(Set(received.flatMap(\.recipients)) == [anna.email, bram.email])
        #expect(received.count == 2)
        let statuses = try await library.sendStatuses(campaign.id)
        #expect(statuses == [anna.email: "sent", bram.email: "sent", eva.email: "suppressed"])
        let mail = try #require(received.first { $0.recipients == [anna.email] })
        #expect(mail.header("Subject") == "Nieuws voor Anna")
        #expect(mail.header("From") == "Bibliotheek Zuid-Kennemerland <nieuws@bibliotheek.example>")
        #expect(mail.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(mail.parts[0].text?.contains("Beste Anna") == true)
        let unsubscribe = try #require(mail.header("List-Unsubscribe"))
        #expect(unsubscribe.hasPrefix("<https://kring.test/s/\(library.tenant.slug.value)/u/"))
        #expect(mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
        #expect(mail.parts[0].text?.contains(String(unsubscribe.dropFirst().dropLast())) == true)
        // The Message-ID is the send's id: a retry after a crash is recognisably the same message.
        let sendID = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT id FROM sends WHERE campaign_id = \(campaign.id) AND email = \(anna.email)").decode(UUID.self).reduce(
                into: [UUID]()
            ) { $0.append($1) }
        }
        #expect(mail.header("Message-ID") == "<\(sendID[0].uuidString.lowercased())@bibliotheek.example>")

        // Sending again, or snapshotting again, mails nobody twice.
        try await library.drain(try library.worker(sink, name: "w2"))
        _ = try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.tick(now: library.clock.now, in: tx) }
        #expect(try sink.received().count == 2)
        let stats = try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.stats(id: campaign.id, in: tx) }
        #expect(stats.sent == 2 && stats.suppressed == 1 && stats.recipients == 3)
        let state = try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.find(id: campaign.id, in: tx).state }
        #expect(state == .sent)
        // The console's sends per minute: the two mails sent, in the clock's minute; not the suppressed one.
        let counted = try await library.env.db.withPlatform { tx in
            try await tx.query(
                """
                SELECT minute, sent::int8 FROM send_counts WHERE tenant_id = \(library.tenant.id)
                """
            ).decode((Date, Int).self).reduce(into: [(Date, Int)]()) { $0.append($1) }
        }
        #expect(counted.count == 1 && counted.first?.1 == 2)
        #expect(counted.first.map { Int($0.0.timeIntervalSince1970) == Int(library.clock.now.timeIntervalSince1970) / 60 * 60 } == true)
    }

    @Test func oneClickOnTheMailsListUnsubscribeURLStopsEveryFurtherMailOfThatList() async throws {
        let library = try await MailLibrary.make("CampaignUnsubscribe")
        let anna = try await library.member("Anna")
        let bram = try await library.member("Bram")
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let worker = try library.worker(sink)
        _ = try await library.campaign(CampaignDraft(name: "Nieuwsbrief 1", listID: library.list, templateID: library.template))
        try await library.drain(worker)
        let first = try #require(try sink.received().first { $0.recipients == [anna.email] })
        // The next issue is already snapshotted (Anna in it) when she unsubscribes.
        let queued = try await library.campaign(CampaignDraft(name: "Nieuwsbrief 2", listID: library.list, templateID: library.template))
        #expect(queued.recipients == 2)

        let header = try #require(first.header("List-Unsubscribe"))
        let url = String(header.dropFirst("<https://kring.test".count).dropLast())
        let app = library.env.application(try await library.env.services(clock: library.clock))
        try await app.test(.router) { client in
            let response = try await client.postForm(url, [("List-Unsubscribe", "One-Click")])
            #expect(response.status == .ok)
        }
        try await library.drain(worker)
        let later = try await library.campaign(CampaignDraft(name: "Nieuwsbrief 3", listID: library.list, templateID: library.template))
        #expect(later.recipients == 1)
        try await library.drain(worker)
        let received = try sink.received()
        #expect(received.filter { $0.recipients == [anna.email] }.count == 1)
        #expect(received.filter { $0.recipients == [bram.email] }.count == 3)
        #expect(try await library.sendStatuses(queued.id)[anna.email] == "cancelled")
    }

    @Test func aRelayThatIsDownOrAnswers4xxLeavesSendsPendingUntilARetryDeliversThemOnce() async throws {
        let library = try await MailLibrary.make("CampaignRetry")
        let members = [try await library.member("Anna"), try await library.member("Bram"), try await library.member("Cor")]
        let campaign = try await library.campaign(CampaignDraft(name: "Nieuwsbrief", listID: library.list, templateID: library.template))
        // Nothing listens on this port: every send stays pending with its error and a retry time.
        let closed = try await SMTPSink.start()
        let deadPort = closed.port
        closed.stop()
        try await library.drain(try library.worker(nil, port: deadPort))
        let pending = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query(
                "SELECT count(*) FROM sends WHERE campaign_id = \(campaign.id) AND status = 'pending' AND attempts = 1 AND last_error LIKE 'connect%' AND due_at > \(library.clock.now)"
            ).decode(Int.self).reduce(0, +)
        }
        #expect(pending == 3)

        // The relay is back but refuses one recipient for now (451).
        var options = SMTPSink.Options()
        options.rejects = [members[2].email: 451]
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        library.clock.advance(by: 3600)
        try await library.drain(try library.worker(sink))
        #expect(Set(try sink.received().flatMap(\.recipients)) == [members[0].email, members[1].email])
        #expect(try await library.sendStatuses(campaign.id)[members[2].email] == "pending")
        // Retried later at a relay that takes it: each recipient has exactly one mail.
        let sink2 = try await SMTPSink.start()
        defer { sink2.stop() }
        library.clock.advance(by: 4 * 3600)
        try await library.drain(try library.worker(sink2))
        #expect(try sink2.received().flatMap(\.recipients) == [members[2].email])
        #expect(Set(try await library.sendStatuses(campaign.id).values) == ["sent"])
    }

    @Test func marketingNeedsAListAndAServiceMailIgnoresUnsubscribeFromAllButNotABounce() async throws {
        let library = try await MailLibrary.make("CampaignPurpose")
        let anna = try await library.member("Anna", subscribed: false)
        let bram = try await library.member("Bram", subscribed: false)
        let cor = try await library.member("Cor", subscribed: false)
        try await library.env.db.withTenant(library.tenant) { tx in
            _ = try await tx.query(
                "INSERT INTO suppressions (email_sha256, reason, created_at) VALUES (\(CustomerPrivacy.emailHash(bram.email)), 'unsubscribed', \(library.clock.now))"
            )
            _ = try await Suppressions.suppress(EmailAddress(cor.email)!, reason: .complaint, by: .system, now: library.clock.now, in: tx)
        }
        let everyone = try await library.env.db.withTenant(library.tenant) { tx in
            try await Segments.create(
                SegmentDraft(name: "Leden", rule: .condition(SegmentCondition(field: "membership_status", op: "=", value: .string("active")))),
                by: .system, now: library.clock.now, in: tx)
        }
        await #expect(throws: CampaignError.self) {
            _ = try await library.campaign(CampaignDraft(name: "Reclame", segmentID: everyone.id, templateID: library.template))
        }
        let service = try await library.campaign(
            CampaignDraft(
                name: "Sluiting wegens verbouwing", purpose: .service, segmentID: everyone.id,
                templateID: library.template))
        let statuses = try await library.sendStatuses(service.id)
        #expect(Set(statuses.keys) == [anna.email, bram.email])
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await library.drain(try library.worker(sink))
        let received = try sink.received()
        #expect(received.count == 2)
        // Service mail carries no List-Unsubscribe.
        #expect(received.allSatisfy { $0.header("List-Unsubscribe") == nil })
    }
}
