import Foundation
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringTestSupport
import PostgresNIO
import Testing

/// The three campaigns of the libraries' plan on a demo library, delivered to a real SMTP server: a welcome journey
/// for a new member, the Weekbrief newsletter for one favourite branch, and an activity reminder with the third-half
/// mail after it.
@Suite struct DemoCampaignsTests {
    @Test func thePlansThreeCampaignsRunEndToEndOnDemoData() async throws {
        let env = try await TestEnvironment.forSuite("DemoCampaigns")
        let tenant = try await env.createTenant("demo")
        let start = Date()
        _ = try await DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: 2000).seed(tenant: tenant, db: env.db, now: start)
        let seeded = try await env.db.withTenant(tenant) { tx in
            try await CampaignsDemo(senderAddress: "nieuws@bzk.example", senderName: "Bibliotheek Zuid-Kennemerland").seed(
                by: .system, now: start, in: tx)
        }
        // The relay takes international addresses (SMTPUTF8), as most do today; the demo has a few (zoë@...).
        var sinkOptions = SMTPSink.Options()
        sinkOptions.smtpUTF8 = true
        let sink = try await SMTPSink.start(sinkOptions)
        defer { sink.stop() }
        let clock = TestClock(start)
        let configuration = SMTPConfiguration(host: "127.0.0.1", port: sink.port, tls: .none, heloName: "kring.test")
        let worker = SendWorker(
            db: env.db, transport: try SMTPTransport(configuration), links: TestEnvironment.links, now: clock.closure,
            logger: .init(label: "demo-campaigns"))
        func drain() async throws { while try await worker.runOnce() > 0 {} }
        func tick() async throws -> Int { try await env.db.withTenant(tenant) { tx in try await Campaigns.tick(now: clock.now, in: tx) } }

        // 1. The Weekbrief for the members of one branch who confirmed the list.
        let (branch, expected) = try await env.db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                """
                SELECT c.favourite_branch_id, count(DISTINCT c.email)::int FROM customers c
                WHERE c.email IS NOT NULL AND c.merged_into IS NULL AND c.erased_at IS NULL
                  AND (SELECT k.status FROM consents k WHERE k.customer_id = c.id AND k.topic = 'list:weekbrief' ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1) = 'confirmed'
                GROUP BY 1 ORDER BY 2 DESC LIMIT 1
                """
            ).decode((UUID, Int).self)
            var found: (UUID, Int)?
            for try await row in rows { found = row }
            return try #require(found)
        }
        let newsletter = try #require(seeded.newsletters[branch])
        let started = try await env.db.withTenant(tenant) { tx in
            try await Campaigns.schedule(id: newsletter, at: nil, by: .system, now: clock.now, in: tx)
        }
        #expect(started.recipients == expected)
        #expect(expected > 5)
        try await drain()
        let branchName = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT name FROM branches WHERE id = \(branch)").decode(String.self).reduce("") { $1 }
        }
        let weekbrief = try sink.received()
        #expect(weekbrief.count == expected)
        #expect(weekbrief.count > 5)
        #expect(weekbrief.allSatisfy { $0.header("Subject") == "Weekbrief van \(branchName)" && $0.header("List-Unsubscribe") != nil })
        #expect(weekbrief.allSatisfy { $0.parts[0].text?.contains("Beste ") == true && $0.parts[0].text?.contains("https://kring.test/") == true })

        // 2. A new member arrives and gets the welcome mail.
        var draft = CustomerDraft(roles: ["member"])
        draft.firstName = "Noor"
        draft.lastName = "Nieuw"
        draft.email = "noor.nieuw@example.nl"
        draft.memberNumber = "NIEUW-1"
        draft.memberType = "adult"
        draft.membershipStatus = "active"
        draft.membershipStart = CalendarDate(clock.now).description
        let valid = try draft.validate(today: CalendarDate(clock.now))
        _ = try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: clock.now, in: tx) }
        clock.advance(by: 60)
        #expect(try await tick() >= 2)  // the welcome mail and its follow-up step
        // Journey mails of a day go from 09:00.
        clock.advance(by: 86_400)
        try await drain()
        let welcome = try sink.received().filter { $0.recipients == ["noor.nieuw@example.nl"] }
        #expect(welcome.map { $0.header("Subject") } == ["Welkom bij de bibliotheek, Noor!"])

        // 3. Three days before a demo activity its booked guests get a reminder; the day after, the attendees the
        //    third-half mail. (The demo's coming activities are within days, so the clock goes back to 3 days before.)
        let activity = try await env.db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                """
                SELECT a.id, a.title, a.starts_at, a.ends_at FROM activities a
                WHERE a.starts_at > \(start) AND EXISTS (SELECT 1 FROM registrations r JOIN customers c ON c.id = r.customer_id
                                                                     WHERE r.activity_id = a.id AND r.status = 'booked' AND c.email ~ '^[ -~]+$')
                ORDER BY a.starts_at LIMIT 1
                """
            ).decode((UUID, String, Date, Date).self)
            var found: (UUID, String, Date, Date)?
            for try await row in rows { found = row }
            return try #require(found)
        }
        let dutch = TimeZone(identifier: "Europe/Amsterdam")!
        func morning(_ date: Date, plusDays days: Int) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = dutch
            let day = calendar.startOfDay(for: date)
            return calendar.date(byAdding: .day, value: days, to: day)!.addingTimeInterval(9.5 * 3600)
        }
        clock.advance(by: morning(activity.2, plusDays: -3).timeIntervalSince(clock.now))
        _ = try await tick()
        try await drain()
        let booked = try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT count(*)::int FROM registrations r JOIN customers c ON c.id = r.customer_id
                WHERE r.activity_id = \(activity.0) AND r.status = 'booked' AND c.email IS NOT NULL AND c.merged_into IS NULL AND c.erased_at IS NULL
                """
            ).decode(Int.self).reduce(0, +)
        }
        func sentFor(_ campaign: UUID) async throws -> [String] {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query(
                    """
                    SELECT email FROM sends WHERE campaign_id = \(campaign) AND context ->> 'activity_id' = \(activity.0.uuidString.lowercased()) AND status = 'sent'
                    """
                ).decode(String.self).reduce(into: [String]()) { $0.append($1) }
            }
        }
        let reminded = try await sentFor(seeded.reminder)
        #expect(reminded.count == booked && booked > 0)
        let reminders = try sink.received().filter {
            $0.header("Subject")?.hasSuffix(": \(activity.1)") == true && reminded.contains($0.recipients[0])
        }
        #expect(reminders.count >= booked)
        #expect(
            reminders.allSatisfy {
                $0.parts[0].text?.contains("Je hebt je aangemeld voor \(activity.1)") == true && $0.header("List-Unsubscribe") == nil
            })
        // The activity takes place; those who came get the third-half mail the next morning.
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("UPDATE registrations SET status = 'attended' WHERE activity_id = \(activity.0) AND status = 'booked'")
        }
        clock.advance(by: morning(activity.3, plusDays: 1).timeIntervalSince(clock.now))
        _ = try await tick()
        try await drain()
        let thanked = try await sentFor(seeded.thirdHalf)
        #expect(thanked.count == booked)
        let thirdHalf = try sink.received().filter { $0.header("Subject") == "Hoe was \(activity.1)?" && thanked.contains($0.recipients[0]) }
        #expect(thirdHalf.count >= booked)
        // Each carries the link to the evaluation form of its own registration.
        #expect(thirdHalf.allSatisfy { $0.parts[0].text?.contains("Geef je cijfer: https://kring.test/s/\(tenant.slug.value)/e/") == true })
        let stats = try await env.db.withTenant(tenant) { tx in try await Campaigns.stats(id: seeded.thirdHalf, in: tx) }
        #expect(stats.sent >= booked)
    }
}
