import Foundation
import HummingbirdTesting
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringTestSupport
import PostgresNIO
import Testing

/// Booking confirmations: every place booked for a coming activity, however it was booked, gets one service mail
/// with the activity, through the send queue and a real SMTP server. Each test has its own database: a worker
/// delivers for every library in it.
@Suite struct BookingConfirmationTests {
    static func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }
    /// Saturday 15 June 2030, 19:30 in the Netherlands.
    static let courseStart = date("2030-06-15T17:30:00Z")
    static let ticketHeader =
        "Ticketnummer;Evenement-ID;Evenement;Datum;Aanvang;Categorie;Locatie;Voornaam;Tussenvoegsel;Achternaam;E-mail;Pasnummer;Prijs;Status;Besteldatum\r\n"

    func sender(_ env: TestEnvironment, _ tenant: Tenant, address: String) async throws {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_address', to_jsonb(\(address)::text), now())")
        }
    }

    func tick(_ env: TestEnvironment, _ tenant: Tenant, _ clock: TestClock) async throws -> Int {
        try await env.db.withTenant(tenant) { tx in try await Campaigns.tick(now: clock.now, in: tx) }
    }

    func worker(_ env: TestEnvironment, _ sink: SMTPSink, _ clock: TestClock) throws -> SendWorker {
        let configuration = SMTPConfiguration(host: "127.0.0.1", port: sink.port, tls: .none, heloName: "kring.test")
        return SendWorker(
            db: env.db, transport: try SMTPTransport(configuration), links: TestEnvironment.links, now: clock.closure,
            logger: .init(label: "booking-confirmation-test"))
    }

    func drain(_ worker: SendWorker) async throws {
        while try await worker.runOnce() > 0 {}
    }

    /// The booking confirmation sends of `tenant`: (customer, occurrence, status, priority).
    func confirmations(_ env: TestEnvironment, _ tenant: Tenant) async throws -> [(customer: UUID, occurrence: String, status: String, priority: Int)]
    {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT s.customer_id, s.occurrence, s.status, s.priority::int FROM sends s JOIN campaigns c ON c.id = s.campaign_id
                WHERE c.system_key = \(TransactionalMails.bookingConfirmationKey) ORDER BY s.created_at
                """
            ).decode((UUID, String, String, Int).self).reduce(into: []) {
                $0.append((customer: $1.0, occurrence: $1.1, status: $1.2, priority: $1.3))
            }
        }
    }

    /// Books places through the API as the library's front desk: (customer, price paid in cents) each.
    func book(_ cast: TwoTenants, in tenant: Tenant, activity: UUID, customers: [(UUID, Int)]) async throws -> [JSONResponse] {
        let frontdesk = try await cast.env.createUser(in: tenant, role: .frontdesk)
        return try await cast.env.application(cast.services).test(.router) { client in
            let token = try await client.login(email: frontdesk.email, tenant: tenant.slug.value).access
            var responses: [JSONResponse] = []
            for (customer, cents) in customers {
                responses.append(
                    try await client.send(
                        .post, "/api/v1/activities/\(activity.uuidString.lowercased())/registrations", token: token,
                        json: ["customer_id": customer.uuidString.lowercased(), "price_paid_cents": cents]))
            }
            return responses
        }
    }

    func sendCount(_ env: TestEnvironment, _ tenant: Tenant) async throws -> Int {
        try await env.db.withTenant(tenant) { tx in try await tx.query("SELECT count(*)::int FROM sends").decode(Int.self).reduce(0, +) }
    }

    func customer(_ env: TestEnvironment, _ tenant: Tenant, firstName: String, email: String?) async throws -> Customer {
        var draft = CustomerDraft(roles: ["guest"])
        draft.firstName = firstName
        draft.lastName = "Jansen"
        draft.email = email
        let valid = try draft.validate(today: CalendarDate(Date()))
        return try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: Date(), in: tx) }
    }

    func course(_ env: TestEnvironment, _ tenant: Tenant, capacity: Int? = nil) async throws -> Activity {
        try await env.db.withTenant(tenant) { tx in
            let branch = try await Branches.create(BranchDraft(name: "Haarlem Centrum", municipality: "Haarlem"), by: .system, now: Date(), in: tx)
            return try await Activities.create(
                ActivityDraft(
                    title: "Schrijfcursus", category: "cursus", startsAt: Self.courseStart,
                    endsAt: Self.courseStart.addingTimeInterval(7200), capacity: capacity, priceCents: 750,
                    branchID: branch.id), by: .system, now: Date(), in: tx)
        }
    }

    @Test func aPlaceBookedThroughTheAPIIsConfirmedOnceWithTheActivity() async throws {
        let cast = try await TwoTenants.make(suite: "BookingConfirmationAPI")
        try await sender(cast.env, cast.a, address: "activiteiten@a.example")
        let activity = try await course(cast.env, cast.a)
        let sanne = try await customer(cast.env, cast.a, firstName: "Sanne", email: "sanne-\(UUID().uuidString.prefix(6).lowercased())@example.nl")
        let noAddress = try await customer(cast.env, cast.a, firstName: "Gijs", email: nil)
        // The scheduler's first pass in the library switches confirmations on; bookings from then on are confirmed.
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)
        cast.clock.advance(by: 60)
        let booked = try await book(cast, in: cast.a, activity: activity.id, customers: [(sanne.id, 750), (noAddress.id, 0)])
        #expect(booked.map(\.status) == [.created, .created], "\(booked.map(\.text))")
        #expect(booked.first?["status"] as? String == "booked")
        let registration = booked.first?["id"] as? String ?? ""
        #expect(try await tick(cast.env, cast.a, cast.clock) == 1)
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)

        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await drain(try worker(cast.env, sink, cast.clock))
        let mails = try sink.received()
        #expect(mails.count == 1)
        let mail = try #require(mails.first)
        #expect(mail.recipients == [sanne.email ?? ""])
        #expect(mail.header("Subject") == "Je bent ingeschreven voor Schrijfcursus")
        // Service mail: no unsubscribe header.
        #expect(mail.header("List-Unsubscribe") == nil)
        let text = try #require(mail.parts.first { $0.contentType == "text/plain" }?.text)
        for expected in [
            "Beste Sanne,", "Wanneer: zaterdag 15 juni, 19:30", "Waar: Haarlem Centrum", "Betaald: € 7,50", "Groeten van \(cast.a.name)",
        ] {
            #expect(text.contains(expected), "\(expected) in \(text)")
        }
        let html = try #require(mail.parts.first { $0.contentType == "text/html" }?.text)
        #expect(html.contains("<strong>Schrijfcursus</strong>") && html.contains("Betaald: € 7,50"))
        let sends = try await confirmations(cast.env, cast.a)
        #expect(sends.count == 1)
        #expect(
            sends.first?.customer == sanne.id && sends.first?.occurrence == registration.lowercased() && sends.first?.status == "sent"
                && sends.first?.priority == 0)
    }

    @Test func aPlaceFreedOnTheWaitingListIsConfirmedWhenItIsGiven() async throws {
        let cast = try await TwoTenants.make(suite: "BookingConfirmationWaitlist")
        let activity = try await course(cast.env, cast.a, capacity: 1)
        let first = try await customer(cast.env, cast.a, firstName: "Eerste", email: "eerste-\(UUID().uuidString.prefix(6).lowercased())@example.nl")
        let waiting = try await customer(
            cast.env, cast.a, firstName: "Wachtend", email: "wachtend-\(UUID().uuidString.prefix(6).lowercased())@example.nl")
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)
        cast.clock.advance(by: 60)
        let booked = try await cast.env.db.withTenant(cast.a) { tx in
            let booked = try await Activities.register(
                customerID: first.id, activityID: activity.id, source: .web, pricePaidCents: 750, by: .system,
                now: cast.clock.now, in: tx)
            _ = try await Activities.register(
                customerID: waiting.id, activityID: activity.id, source: .web, pricePaidCents: 0, by: .system,
                now: cast.clock.now, in: tx)
            return booked
        }
        // Only the booked place is confirmed, not the place on the waiting list.
        #expect(try await tick(cast.env, cast.a, cast.clock) == 1)
        cast.clock.advance(by: 60)
        _ = try await cast.env.db.withTenant(cast.a) { tx in
            try await Activities.setStatus(registrationID: booked.id, to: .cancelled, by: .system, now: cast.clock.now, in: tx)
        }
        #expect(try await tick(cast.env, cast.a, cast.clock) == 1)
        #expect(try await confirmations(cast.env, cast.a).map(\.customer) == [first.id, waiting.id])
        // The library rewords the confirmation; the next mail says it so. The cancelled place's confirmation, queued
        // before the cancellation, does not go.
        try await sender(cast.env, cast.a, address: "activiteiten@a.example")
        try await cast.env.db.withTenant(cast.a) { tx in
            let campaign = try await Campaigns.find(id: try await TransactionalMails.bookingConfirmationCampaign(now: cast.clock.now, in: tx), in: tx)
            let templateID = try #require(campaign.templateID)
            let current = try await Templates.find(id: templateID, in: tx)
            _ = try await Templates.replace(
                id: templateID,
                with: TemplateDraft(
                    name: current.name, subject: "Je plek bij {{activity.title}} is bevestigd",
                    html: current.html, text: current.text),
                expectedVersion: current.version, by: .system, now: cast.clock.now, in: tx)
        }
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await drain(try worker(cast.env, sink, cast.clock))
        let mails = try sink.received()
        #expect(mails.map(\.recipients) == [[waiting.email ?? ""]])
        #expect(mails.first?.header("Subject") == "Je plek bij Schrijfcursus is bevestigd")
        #expect(try await confirmations(cast.env, cast.a).map(\.status) == ["skipped", "sent"])
    }

    @Test func aReimportedTicketIsConfirmedOnceAndPastOrBouncedTicketsNever() async throws {
        let cast = try await TwoTenants.make(suite: "BookingConfirmationImport")
        try await sender(cast.env, cast.a, address: "activiteiten@a.example")
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let lotte = "lotte-\(suffix)@example.nl"
        let bea = "bea-\(suffix)@example.nl"
        let piet = "piet-\(suffix)@example.nl"
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)
        cast.clock.advance(by: 60)
        // Bea's address bounced hard before.
        _ = try await cast.env.db.withTenant(cast.a) { tx in
            try await Suppressions.suppress(try #require(EmailAddress(bea)), reason: .hardBounce, by: .system, now: cast.clock.now, in: tx)
        }
        let file = Array(
            (Self.ticketHeader
                + [
                    "T1;E100;Schrijfcursus;15-06-2030;19:30;cursus;;Lotte;;Smit;\(lotte);;25,00;betaald;",
                    "T2;E100;Schrijfcursus;15-06-2030;19:30;cursus;;Bea;;Bons;\(bea);;25,00;betaald;",
                    // A ticket of an activity long past: history, not a booking to confirm.
                    "T3;E200;Lezing Multatuli;14-12-2020;20:00;lezing;;Piet;;Pan;\(piet);;7,50;betaald;01-12-2020",
                ].joined(separator: "\r\n") + "\r\n").utf8)
        func runImport() async throws -> ImportReport {
            try await RegistrationImport().run(BytesImportSource(file), by: .system, now: cast.clock.now, db: cast.env.db, tenant: cast.a)
        }
        let report = try await runImport()
        #expect(report.inserted == 3, "\(report)")
        #expect(try await tick(cast.env, cast.a, cast.clock) == 1)
        cast.clock.advance(by: 60)
        let again = try await runImport()
        #expect(again.inserted == 0 && again.updated == 0)
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)

        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await drain(try worker(cast.env, sink, cast.clock))
        let mails = try sink.received()
        #expect(mails.map(\.recipients) == [[lotte]])
        #expect(mails.first?.parts.first { $0.contentType == "text/plain" }?.text?.contains("Betaald: € 25,00") == true)
        #expect(try await confirmations(cast.env, cast.a).map(\.status) == ["sent"])
    }

    @Test func aBookingInLibraryBNeverCreatesASendInLibraryA() async throws {
        let cast = try await TwoTenants.make(suite: "BookingConfirmationLibraries")
        try await sender(cast.env, cast.a, address: "activiteiten@a.example")
        try await sender(cast.env, cast.b, address: "activiteiten@b.example")
        let activity = try await course(cast.env, cast.b)
        let guest = try await customer(cast.env, cast.b, firstName: "Bente", email: "bente-\(UUID().uuidString.prefix(6).lowercased())@example.nl")
        for tenant in [cast.a, cast.b] { #expect(try await tick(cast.env, tenant, cast.clock) == 0) }
        cast.clock.advance(by: 60)
        #expect(try await book(cast, in: cast.b, activity: activity.id, customers: [(guest.id, 0)]).map(\.status) == [.created])
        #expect(try await tick(cast.env, cast.a, cast.clock) == 0)
        #expect(try await tick(cast.env, cast.b, cast.clock) == 1)
        #expect(try await sendCount(cast.env, cast.a) == 0)
        #expect(try await confirmations(cast.env, cast.b).map(\.customer) == [guest.id])

        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        try await drain(try worker(cast.env, sink, cast.clock))
        let mails = try sink.received()
        #expect(mails.map(\.recipients) == [[guest.email ?? ""]])
        #expect(mails.first?.header("From")?.contains("activiteiten@b.example") == true)
        #expect(try await sendCount(cast.env, cast.a) == 0)
    }
}
