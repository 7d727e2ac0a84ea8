import Foundation
import KringDatabase
import PostgresNIO

/// The mails Kring sends on its own behalf (service mail, priority 0): created per library on first use, as a
/// transactional campaign with a template the library may reword.
public enum TransactionalMails {
    /// The `system_key` of the sign-up confirmation (double opt-in).
    public static let doubleOptInKey = "double_opt_in"

    /// The library's double opt-in campaign; created with its template on first use. Its sends carry
    /// `{"confirm_url", "list_name"}` in their context.
    public static func doubleOptInCampaign(now: Date, in tx: TenantTransaction) async throws -> UUID {
        if let id = try await campaign(doubleOptInKey, in: tx) { return id }
        // Transaction-local: two first sign-ups at once create one campaign, not two templates.
        try await tx.query("SELECT pg_advisory_xact_lock(hashtext(\("kring:" + doubleOptInKey)))")
        if let id = try await campaign(doubleOptInKey, in: tx) { return id }

        let templateID = UUID()
        let subject = "Bevestig je aanmelding voor {{list_name}}"
        let text = """
            Hallo,

            Je hebt je aangemeld voor {{list_name}}. Bevestig je aanmelding via deze link:
            {{{confirm_url}}}

            Heb je je niet aangemeld? Dan hoef je niets te doen; je krijgt geen berichten van ons.
            """
        let html = """
            <p>Hallo,</p>
            <p>Je hebt je aangemeld voor {{list_name}}. Bevestig je aanmelding:</p>
            <p><a href="{{{confirm_url}}}">Ja, ik wil me aanmelden</a></p>
            <p>Heb je je niet aangemeld? Dan hoef je niets te doen; je krijgt geen berichten van ons.</p>
            """
        try await tx.query("""
            INSERT INTO templates (id, name, version, subject, html, text_body, created_at, updated_at)
            VALUES (\(templateID), 'Bevestiging aanmelding', 1, \(subject), \(html), \(text), \(now), \(now))
            """)
        try await tx.query("""
            INSERT INTO template_versions (template_id, version, subject, html, text_body, created_at)
            VALUES (\(templateID), 1, \(subject), \(html), \(text), \(now))
            """)
        let id = UUID()
        try await tx.query("""
            INSERT INTO campaigns (id, name, kind, purpose, state, template_id, template_version, priority, system_key, created_at, updated_at)
            VALUES (\(id), 'Bevestiging aanmelding', 'transactional', 'service', 'active', \(templateID), 1, 0, \(doubleOptInKey), \(now), \(now))
            """)
        try await TenantAudit.record("campaign.created", subjectType: "campaign", subjectID: id.uuidString.lowercased(), by: .system,
                                     details: ["system_key": doubleOptInKey], at: now, in: tx)
        return id
    }

    /// Queues the confirmation mail of a sign-up: one send per pending statement (its consent id is the occurrence),
    /// due now. Queuing the same statement twice changes nothing.
    public static func queueConfirmation(customerID: UUID, email: String, consentID: Int64, listName: String, confirmURL: String,
                                         now: Date, in tx: TenantTransaction) async throws {
        let campaignID = try await doubleOptInCampaign(now: now, in: tx)
        let context = String(decoding: try JSONEncoder().encode(["confirm_url": confirmURL, "list_name": listName]), as: UTF8.self)
        try await tx.query("""
            INSERT INTO sends (id, campaign_id, customer_id, occurrence, step, email, status, priority, due_at, context, created_at)
            VALUES (\(UUID()), \(campaignID), \(customerID), \(String(consentID)), 0, \(email), 'pending', 0, \(now), \(context)::jsonb, \(now))
            ON CONFLICT (campaign_id, customer_id, occurrence, step) DO NOTHING
            """)
    }

    private static func campaign(_ key: String, in tx: TenantTransaction) async throws -> UUID? {
        for try await id in try await tx.query("SELECT id FROM campaigns WHERE system_key = \(key)").decode(UUID.self) { return id }
        return nil
    }
}
