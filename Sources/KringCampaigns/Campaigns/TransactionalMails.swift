import Foundation
import KringDatabase
import PostgresNIO

/// The mails Kring sends on its own behalf (service mail, priority 0): created per library on first use, as a
/// transactional campaign with a template the library may reword. The campaign pins no template version: a saved
/// rewording reaches the next mail.
public enum TransactionalMails {
    /// The `system_key` of the sign-up confirmation (double opt-in).
    public static let doubleOptInKey = "double_opt_in"
    /// The `system_key` of the confirmation of a booked place at an activity.
    public static let bookingConfirmationKey = "booking_confirmation"

    /// A transactional campaign and the Dutch template it starts with.
    struct SystemMail {
        let key: String
        let name: String
        let subject: String
        let html: String
        let text: String
    }

    static let doubleOptIn = SystemMail(
        key: doubleOptInKey, name: "Bevestiging aanmelding", subject: "Bevestig je aanmelding voor {{list_name}}",
        html: """
            <p>Hallo,</p>
            <p>Je hebt je aangemeld voor {{list_name}}. Bevestig je aanmelding:</p>
            <p><a href="{{{confirm_url}}}">Ja, ik wil me aanmelden</a></p>
            <p>Heb je je niet aangemeld? Dan hoef je niets te doen; je krijgt geen berichten van ons.</p>
            """,
        text: """
            Hallo,

            Je hebt je aangemeld voor {{list_name}}. Bevestig je aanmelding via deze link:
            {{{confirm_url}}}

            Heb je je niet aangemeld? Dan hoef je niets te doen; je krijgt geen berichten van ons.
            """)

    static let bookingConfirmation = SystemMail(
        key: bookingConfirmationKey, name: "Bevestiging inschrijving activiteit", subject: "Je bent ingeschreven voor {{activity.title}}",
        html: """
            <p>Beste {{customer.first_name}},</p>
            <p>Je bent ingeschreven voor <strong>{{activity.title}}</strong>. We zien je graag!</p>
            <ul><li>Wanneer: {{activity.when}}</li>{{#activity.branch}}<li>Waar: {{activity.branch}}</li>{{/activity.branch}}<li>Betaald: {{activity.price_paid}}</li></ul>
            <p>Kun je toch niet komen? Laat het ons weten, dan geven we je plaats aan iemand anders.</p>
            <p>Groeten van {{library.name}}</p>
            """,
        text: """
            Beste {{customer.first_name}},

            Je bent ingeschreven voor {{activity.title}}. We zien je graag!

            Wanneer: {{activity.when}}
            {{#activity.branch}}
            Waar: {{activity.branch}}
            {{/activity.branch}}
            Betaald: {{activity.price_paid}}

            Kun je toch niet komen? Laat het ons weten, dan geven we je plaats aan iemand anders.

            Groeten van {{library.name}}
            """)

    /// The confirmation mail of a sign-up as the library sends it now: its template when the library has one (it may
    /// have reworded it), else the text it starts with.
    public static func doubleOptInMail(in tx: TenantTransaction) async throws -> (subject: String, text: String) {
        for try await (subject, text) in try await tx.query(
            "SELECT t.subject, t.text_body FROM campaigns c JOIN templates t ON t.id = c.template_id WHERE c.system_key = \(doubleOptInKey)"
        ).decode((String, String).self) {
            return (subject, text)
        }
        return (doubleOptIn.subject, doubleOptIn.text)
    }

    /// The library's double opt-in campaign; created with its template on first use. Its sends carry
    /// `{"confirm_url", "list_name"}` in their context.
    public static func doubleOptInCampaign(now: Date, in tx: TenantTransaction) async throws -> UUID {
        try await campaign(doubleOptIn, now: now, in: tx)
    }

    /// The library's booking confirmation campaign; created with its template on first use (the scheduler's first
    /// pass in the library). Its sends carry `{"activity_id", "registration_id"}` in their context.
    public static func bookingConfirmationCampaign(now: Date, in tx: TenantTransaction) async throws -> UUID {
        try await campaign(bookingConfirmation, now: now, in: tx)
    }

    /// Queues the confirmation mail of a sign-up: one send per pending statement (its consent id is the occurrence),
    /// due now. Queuing the same statement twice changes nothing.
    public static func queueConfirmation(
        customerID: UUID, email: String, consentID: Int64, listName: String, confirmURL: String,
        now: Date, in tx: TenantTransaction
    ) async throws {
        let campaignID = try await doubleOptInCampaign(now: now, in: tx)
        let context = String(decoding: try JSONEncoder().encode(["confirm_url": confirmURL, "list_name": listName]), as: UTF8.self)
        try await tx.query(
            """
            INSERT INTO sends (id, campaign_id, customer_id, occurrence, step, email, status, priority, due_at, context, created_at)
            VALUES (\(UUID()), \(campaignID), \(customerID), \(String(consentID)), 0, \(email), 'pending', 0, \(now), \(context)::jsonb, \(now))
            ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
            """)
    }

    /// Queues the confirmation of each place booked since the library's booking confirmation campaign exists, for an
    /// activity still to come: one send per registration (its id is the occurrence), due now. However the place was
    /// booked (staff, API, ticketing import, a place freed on the waiting list), the scheduler finds it here, so the
    /// customer module needs no mail code. A paused or cancelled campaign queues nothing. Answers the sends queued.
    public static func queueBookingConfirmations(now: Date, in tx: TenantTransaction) async throws -> Int {
        let campaign = try await Campaigns.find(id: try await bookingConfirmationCampaign(now: now, in: tx), in: tx)
        guard campaign.state != .paused && campaign.state != .cancelled else { return 0 }
        // Service mail: no list consent, but never to a suppressed (bounced, complained, erased) address.
        let audience = Snapshot.audienceCondition(campaign, listKey: nil)
        // Future activities first (index on starts_at), then their booked places (index on activity and status).
        let inserted = try await tx.query(
            sql: """
                INSERT INTO sends (id, campaign_id, customer_id, occurrence, step, email, status, priority, due_at, context, created_at)
                SELECT gen_random_uuid(), \(campaign.id), c.id, r.id::text, 0, c.email, 'pending', \(campaign.priority), \(now),
                       jsonb_build_object('activity_id', a.id, 'registration_id', r.id), \(now)
                FROM activities a
                JOIN registrations r ON r.activity_id = a.id AND r.status = 'booked'
                JOIN customers c ON c.id = r.customer_id
                WHERE a.starts_at > \(now) AND r.updated_at > \(campaign.createdAt) AND \(audience)
                  AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = \(campaign.id) AND s.customer_id = c.id AND s.occurrence = r.id::text AND s.step = 0)
                ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
                RETURNING 1
                """)
        var count = 0
        for try await _ in inserted { count += 1 }
        return count
    }

    private static func campaign(_ mail: SystemMail, now: Date, in tx: TenantTransaction) async throws -> UUID {
        if let id = try await existing(mail.key, in: tx) { return id }
        // Transaction-local: two first uses at once create one campaign, not two templates.
        try await tx.query("SELECT pg_advisory_xact_lock(hashtext(\("kring:" + mail.key)))")
        if let id = try await existing(mail.key, in: tx) { return id }

        let templateID = UUID()
        try await tx.query(
            """
            INSERT INTO templates (id, name, version, subject, html, text_body, created_at, updated_at)
            VALUES (\(templateID), \(mail.name), 1, \(mail.subject), \(mail.html), \(mail.text), \(now), \(now))
            """)
        try await tx.query(
            """
            INSERT INTO template_versions (template_id, version, subject, html, text_body, created_at)
            VALUES (\(templateID), 1, \(mail.subject), \(mail.html), \(mail.text), \(now))
            """)
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO campaigns (id, name, kind, purpose, state, template_id, template_version, priority, system_key, created_at, updated_at)
            VALUES (\(id), \(mail.name), 'transactional', 'service', 'active', \(templateID), NULL, 0, \(mail.key), \(now), \(now))
            """)
        try await TenantAudit.record(
            "campaign.created", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: .system,
            details: ["system_key": mail.key], at: now, in: tx)
        return id
    }

    private static func existing(_ key: String, in tx: TenantTransaction) async throws -> UUID? {
        for try await id in try await tx.query("SELECT id FROM campaigns WHERE system_key = \(key)").decode(UUID.self) { return id }
        return nil
    }
}
