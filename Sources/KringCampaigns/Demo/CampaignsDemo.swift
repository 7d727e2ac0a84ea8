import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The campaigns of the libraries' plan, ready on a demo library: the weekly newsletter per favourite branch (one
/// draft per branch), a welcome journey for new members, and the activity reminder with the "third half" mail.
public struct CampaignsDemo: Sendable {
    public struct Seeded: Sendable {
        public let weeklyList: UUID
        /// The draft newsletter of each branch, by branch id.
        public let newsletters: [UUID: UUID]
        public let welcome: UUID
        public let reminder: UUID
        public let thirdHalf: UUID
    }

    public let senderAddress: String
    public let senderName: String

    public init(senderAddress: String, senderName: String) {
        self.senderAddress = senderAddress
        self.senderName = senderName
    }

    public func seed(by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Seeded {
        for (key, value) in [("mail_from_address", senderAddress), ("mail_from_name", senderName)] {
            try await tx.query("""
                INSERT INTO settings (key, value, updated_at) VALUES (\(key), to_jsonb(\(value)::text), \(now)) ON CONFLICT (key) DO NOTHING
                """)
        }
        let list = UUID()
        try await tx.query("""
            INSERT INTO lists (id, key, name, description, consent_text, consent_version, created_at, updated_at)
            VALUES (\(list), 'weekbrief', 'Weekbrief', 'Elke week het nieuws en de activiteiten van je vestiging.',
                    'Ja, ik ontvang graag elke week de Weekbrief van de bibliotheek per e-mail. Afmelden kan altijd.', 'demo-v1', \(now), \(now))
            """)
        // The demo members' newsletter consents become subscriptions to the list.
        try await tx.query("""
            INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
            SELECT customer_id, 'list:weekbrief', status, recorded_at, source, 'demo-v1', CASE WHEN status = 'confirmed' THEN recorded_at END
            FROM consents WHERE topic = 'newsletter:weekly'
            """)
        let newsletter = try await template("Weekbrief", subject: "Weekbrief van {{branch.name}}", html: """
            <p>Beste {{customer.first_name}},</p>
            <p>Dit gebeurt er binnenkort in {{branch.name}}:</p>
            <ul>{{#activities}}<li><strong>{{title}}</strong>, {{when}}</li>{{/activities}}</ul>
            <p><a href="https://www.bibliotheek.nl/agenda">Bekijk de hele agenda</a></p>
            """, text: """
            Beste {{customer.first_name}},

            Dit gebeurt er binnenkort in {{branch.name}}:
            {{#activities}}- {{title}}, {{when}}
            {{/activities}}
            De hele agenda: https://www.bibliotheek.nl/agenda
            """, by: actor, now: now, in: tx)
        var newsletters: [UUID: UUID] = [:]
        let branches = try await tx.query("SELECT id, name FROM branches ORDER BY name").decode((UUID, String).self)
        for try await (branch, name) in branches {
            let segment = try await Segments.create(SegmentDraft(name: "Vestiging \(name)", rule: .condition(SegmentCondition(
                field: "favourite_branch", op: "=", value: .string(branch.uuidString.lowercased())))), by: actor, now: now, in: tx)
            newsletters[branch] = try await Campaigns.create(CampaignDraft(name: "Weekbrief \(name)", listID: list, segmentID: segment.id, templateID: newsletter),
                                                             by: actor, now: now, in: tx).id
        }
        let welcome1 = try await template("Welkom", subject: "Welkom bij de bibliotheek, {{customer.first_name}}!", html: """
            <p>Welkom {{customer.first_name}}!</p><p>Je pas werkt in alle vestigingen. Je favoriete vestiging: {{branch.name}}.</p>
            """, text: "Welkom {{customer.first_name}}!\n\nJe pas werkt in alle vestigingen. Je favoriete vestiging: {{branch.name}}.", by: actor, now: now, in: tx)
        let welcome2 = try await template("Welkom: tips", subject: "Al iets gevonden, {{customer.first_name}}?", html: """
            <p>Hoi {{customer.first_name}}, nog niets geleend? Onze tips voor deze week staan op de website.</p>
            """, text: "Hoi {{customer.first_name}}, nog niets geleend? Onze tips voor deze week staan op de website.", by: actor, now: now, in: tx)
        let welcome = try await Campaigns.create(CampaignDraft(name: "Welkom nieuwe leden", kind: .journey, purpose: .service, journey: Journey(
            trigger: .welcome, steps: [
                .init(waitDays: 0, templateID: welcome1),
                .init(waitDays: 14, templateID: welcome2, condition: .condition(SegmentCondition(field: "never_borrowed", op: "=", value: .bool(true)))),
            ])), by: actor, now: now, in: tx)
        let reminderTemplate = try await template("Herinnering activiteit", subject: "Tot {{activity.date}}: {{activity.title}}", html: """
            <p>Beste {{customer.first_name}},</p><p>Je hebt je aangemeld voor <strong>{{activity.title}}</strong> op {{activity.when}} in {{activity.branch}}.</p>
            """, text: "Beste {{customer.first_name}},\n\nJe hebt je aangemeld voor {{activity.title}} op {{activity.when}} in {{activity.branch}}.",
            by: actor, now: now, in: tx)
        let reminder = try await Campaigns.create(CampaignDraft(name: "Herinnering 3 dagen voor de activiteit", kind: .journey, purpose: .service,
                                                                journey: Journey(trigger: .activityReminder, days: 3, steps: [.init(templateID: reminderTemplate)])),
                                                  by: actor, now: now, in: tx)
        let thirdHalfTemplate = try await template("Derde helft", subject: "Hoe was {{activity.title}}?", html: """
            <p>Beste {{customer.first_name}},</p><p>Bedankt voor je komst naar {{activity.title}}. Wat vond je ervan? Je antwoord helpt ons.</p>
            {{#evaluation_url}}<p><a href="{{{evaluation_url}}}">Geef je cijfer</a></p>{{/evaluation_url}}
            """, text: """
            Beste {{customer.first_name}},

            Bedankt voor je komst naar {{activity.title}}. Wat vond je ervan? Je antwoord helpt ons.
            {{#evaluation_url}}
            Geef je cijfer: {{{evaluation_url}}}
            {{/evaluation_url}}
            """, by: actor, now: now, in: tx)
        let thirdHalf = try await Campaigns.create(CampaignDraft(name: "Derde helft", kind: .journey, purpose: .service,
                                                                 journey: Journey(trigger: .thirdHalf, days: 1, steps: [.init(templateID: thirdHalfTemplate)])),
                                                   by: actor, now: now, in: tx)
        for journey in [welcome, reminder, thirdHalf] {
            _ = try await Campaigns.schedule(id: journey.id, at: nil, by: actor, now: now, in: tx)
        }
        return Seeded(weeklyList: list, newsletters: newsletters, welcome: welcome.id, reminder: reminder.id, thirdHalf: thirdHalf.id)
    }

    private func template(_ name: String, subject: String, html: String, text: String, by actor: AuditActor, now: Date,
                          in tx: TenantTransaction) async throws -> UUID {
        try await Templates.create(TemplateDraft(name: name, subject: subject, html: html, text: text), by: actor, now: now, in: tx).id
    }
}
