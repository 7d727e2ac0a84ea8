import Foundation
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringTestSupport
import PostgresNIO
import Testing

@Suite struct JourneyTests {
    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }

    func template(_ library: MailLibrary, subject: String, body: String) async throws -> UUID {
        try await library.env.db.withTenant(library.tenant) { tx in
            try await Templates.create(
                TemplateDraft(name: subject, subject: subject, html: "<p>" + body + "</p>", text: body),
                by: .system, now: library.clock.now, in: tx
            ).id
        }
    }

    func journey(_ library: MailLibrary, _ name: String, purpose: Campaign.Purpose, list: UUID? = nil, _ journey: Journey) async throws -> Campaign {
        try await library.campaign(CampaignDraft(name: name, kind: .journey, purpose: purpose, listID: list, journey: journey))
    }

    func tick(_ library: MailLibrary) async throws -> Int {
        try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.tick(now: library.clock.now, in: tx) }
    }

    @Test func welcomeReminderAndThirdHalfJourneysMailEachOccurrenceOnce() async throws {
        // 1 March 2027, 08:00 in the Netherlands: the journeys are switched on.
        let library = try await MailLibrary.make("Journeys", clock: TestClock(Self.date("2027-03-01T07:00:00Z")))
        let welcome1 = try await template(library, subject: "Welkom bij de bibliotheek", body: "Welkom {{customer.first_name}}")
        let welcome2 = try await template(library, subject: "Al iets geleend?", body: "Tips voor {{customer.first_name}}")
        let reminder = try await template(library, subject: "Tot zaterdag!", body: "Je komt naar een activiteit")
        let thirdHalf = try await template(library, subject: "Hoe was het?", body: "Vertel ons hoe het was")
        let welcomeJourney = try await journey(
            library, "Welkom", purpose: .marketing, list: library.list,
            Journey(
                trigger: .welcome,
                steps: [
                    .init(waitDays: 0, templateID: welcome1),
                    // A week later, only for who has still not borrowed anything.
                    .init(
                        waitDays: 7, templateID: welcome2,
                        condition: .condition(SegmentCondition(field: "never_borrowed", op: "=", value: .bool(true)))),
                ]))
        #expect(welcomeJourney.state == .active)
        let reminderJourney = try await journey(
            library, "Herinnering", purpose: .service, Journey(trigger: .activityReminder, days: 3, steps: [.init(templateID: reminder)]))
        let thirdHalfJourney = try await journey(
            library, "Derde helft", purpose: .service, Journey(trigger: .thirdHalf, days: 1, steps: [.init(templateID: thirdHalf)]))

        // 10 March: Nina joined yesterday; Oscar joined last year; Piet booked for Saturday; Quinn attended yesterday.
        library.clock.advance(by: 9 * 86_400)
        let nina = try await library.member("Nina", start: "2027-03-09")
        let oscar = try await library.member("Oscar", start: "2026-03-09")
        let piet = try await library.member("Piet", subscribed: false)
        let quinn = try await library.member("Quinn", subscribed: false)
        try await library.env.db.withTenant(library.tenant) { tx in
            let saturday = try await Activities.create(
                ActivityDraft(
                    title: "Voorleesochtend", category: "youth", startsAt: Self.date("2027-03-13T13:00:00Z"),
                    endsAt: Self.date("2027-03-13T14:30:00Z")), by: .system, now: library.clock.now, in: tx)
            _ = try await Activities.register(
                customerID: piet.id, activityID: saturday.id, source: .staff, pricePaidCents: 0, by: .system, now: library.clock.now, in: tx)
            let yesterday = try await Activities.create(
                ActivityDraft(
                    title: "Taalcafé", category: "nt2", startsAt: Self.date("2027-03-09T18:00:00Z"),
                    endsAt: Self.date("2027-03-09T19:30:00Z")), by: .system, now: library.clock.now, in: tx)
            let registration = try await Activities.register(
                customerID: quinn.id, activityID: yesterday.id, source: .staff, pricePaidCents: 0, by: .system,
                now: library.clock.now, in: tx)
            _ = try await Activities.setStatus(registrationID: registration.id, to: .attended, by: .system, now: library.clock.now, in: tx)
        }
        // Two welcome steps for Nina, a reminder for Piet, a third-half mail for Quinn; nothing for Oscar.
        #expect(try await tick(library) == 4)
        #expect(try await tick(library) == 0)

        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let worker = try library.worker(sink)
        // 08:00: the day's journey mails wait for 09:00.
        try await library.drain(worker)
        #expect(try sink.received().isEmpty)
        library.clock.advance(by: 3600 + 60)
        try await library.drain(worker)
        var received = try sink.received()
        #expect(received.count == 3)
        #expect(
            Set(received.map { "\($0.recipients[0]) \($0.header("Subject") ?? "")" })
                == ["\(nina.email) Welkom bij de bibliotheek", "\(piet.email) Tot zaterdag!", "\(quinn.email) Hoe was het?"])
        #expect(!received.flatMap(\.recipients).contains(oscar.email))
        // Service mails carry no unsubscribe header; the welcome mail (marketing, to a list) does.
        #expect(received.first { $0.recipients == [piet.email] }?.header("List-Unsubscribe") == nil)
        #expect(received.first { $0.recipients == [nina.email] }?.header("List-Unsubscribe") != nil)

        // The next days find the same occurrences again and queue nothing; a week on, the second welcome step goes.
        library.clock.advance(by: 86_400)
        #expect(try await tick(library) == 0)
        library.clock.advance(by: 6 * 86_400)
        #expect(try await tick(library) == 0)
        try await library.drain(worker)
        received = try sink.received()
        #expect(received.count == 4)
        #expect(
            received.filter { $0.recipients == [nina.email] }.compactMap { $0.header("Subject") }.sorted() == [
                "Al iets geleend?", "Welkom bij de bibliotheek",
            ])
        let reminderContext = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT context ->> 'activity_id' FROM sends WHERE campaign_id = \(reminderJourney.id)").decode(String?.self)
                .reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(reminderContext.count == 1 && reminderContext[0] != nil)
        let stats = try await library.env.db.withTenant(library.tenant) { tx in try await Campaigns.stats(id: thirdHalfJourney.id, in: tx) }
        #expect(stats.sent == 1)
    }

    @Test func aStepWhoseConditionNoLongerHoldsIsSkipped() async throws {
        let library = try await MailLibrary.make("JourneySkip", clock: TestClock(Self.date("2027-03-01T09:30:00Z")))
        let first = try await template(library, subject: "Welkom", body: "Welkom")
        let second = try await template(library, subject: "Nog niets geleend?", body: "Tips")
        _ = try await journey(
            library, "Welkom", purpose: .marketing, list: library.list,
            Journey(
                trigger: .welcome,
                steps: [
                    .init(templateID: first),
                    .init(
                        waitDays: 7, templateID: second, condition: .condition(SegmentCondition(field: "never_borrowed", op: "=", value: .bool(true)))
                    ),
                ]))
        let rosa = try await library.member("Rosa", start: "2027-03-01")
        #expect(try await tick(library) == 2)
        // Rosa borrows a book in her first week.
        try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("UPDATE customers SET last_loan_date = '2027-03-03', loans_12m = 1, loans_total = 1 WHERE id = \(rosa.id)")
        }
        library.clock.advance(by: 8 * 86_400)
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await library.drain(try library.worker(sink))
        #expect(try sink.received().compactMap { $0.header("Subject") } == ["Welkom"])
        let statuses = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT status FROM sends ORDER BY step").decode(String.self).reduce(into: [String]()) { $0.append($1) }
        }
        #expect(statuses == ["sent", "skipped"])
    }
}
