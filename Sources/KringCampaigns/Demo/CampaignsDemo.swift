import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The campaigns of the libraries' plan, ready on a demo library: the weekly newsletter per favourite branch (one
/// draft per branch), a welcome journey for new members, and the activity reminder with the "third half" mail. When
/// the library has business relations (RelationsDemo), also the education newsletter for schools and the new-year
/// greetings by relation type, as drafts to the contacts who agreed to them.
public struct CampaignsDemo: Sendable {
    public struct Seeded: Sendable {
        public let weeklyList: UUID
        /// The draft newsletter of each branch, by branch id.
        public let newsletters: [UUID: UUID]
        public let welcome: UUID
        public let reminder: UUID
        public let thirdHalf: UUID
        /// The education newsletter's list and its draft, to the contacts at schools and school boards.
        public let educationList: UUID?
        public let educationNewsletter: UUID?
        /// The new-year greetings: one for education, one for the municipality, partners and funds.
        public let newYearGreetings: [UUID]
    }

    public let senderAddress: String
    public let senderName: String

    public init(senderAddress: String, senderName: String) {
        self.senderAddress = senderAddress
        self.senderName = senderName
    }

    public func seed(by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Seeded {
        for (key, value) in [("mail_from_address", senderAddress), ("mail_from_name", senderName)] {
            try await tx.query(
                """
                INSERT INTO settings (key, value, updated_at) VALUES (\(key), to_jsonb(\(value)::text), \(now)) ON CONFLICT (key) DO NOTHING
                """)
        }
        let list = UUID()
        try await tx.query(
            """
            INSERT INTO lists (id, key, name, description, consent_text, consent_version, created_at, updated_at)
            VALUES (\(list), 'weekbrief', 'Weekbrief', 'Elke week het nieuws en de activiteiten van je vestiging.',
                    'Ja, ik ontvang graag elke week de Weekbrief van de bibliotheek per e-mail. Afmelden kan altijd.', 'demo-v1', \(now), \(now))
            """)
        // The demo members' newsletter consents become subscriptions to the list.
        try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version, confirmed_at)
            SELECT customer_id, 'list:weekbrief', status, recorded_at, source, 'demo-v1', CASE WHEN status = 'confirmed' THEN recorded_at END
            FROM consents WHERE topic = 'newsletter:weekly'
            """)
        let newsletter = try await template(
            "Weekbrief", subject: "Weekbrief van {{branch.name}}",
            html: """
                <p>Beste {{customer.first_name}},</p>
                <p>Dit gebeurt er binnenkort in {{branch.name}}:</p>
                <ul>{{#activities}}<li><strong>{{title}}</strong>, {{when}}</li>{{/activities}}</ul>
                <p><a href="https://www.bibliotheek.nl/agenda">Bekijk de hele agenda</a></p>
                """,
            text: """
                Beste {{customer.first_name}},

                Dit gebeurt er binnenkort in {{branch.name}}:
                {{#activities}}- {{title}}, {{when}}
                {{/activities}}
                De hele agenda: https://www.bibliotheek.nl/agenda
                """, by: actor, now: now, in: tx)
        var newsletters: [UUID: UUID] = [:]
        let branches = try await tx.query("SELECT id, name FROM branches ORDER BY name").decode((UUID, String).self)
        for try await (branch, name) in branches {
            let segment = try await Segments.create(
                SegmentDraft(
                    name: "Vestiging \(name)",
                    rule: .condition(
                        SegmentCondition(
                            field: "favourite_branch", op: "=", value: .string(branch.uuidString.lowercased())))), by: actor, now: now, in: tx)
            newsletters[branch] = try await Campaigns.create(
                CampaignDraft(name: "Weekbrief \(name)", listID: list, segmentID: segment.id, templateID: newsletter),
                by: actor, now: now, in: tx
            ).id
        }
        let welcome1 = try await template(
            "Welkom", subject: "Welkom bij de bibliotheek, {{customer.first_name}}!",
            html: """
                <p>Welkom {{customer.first_name}}!</p><p>Je pas werkt in alle vestigingen. Je favoriete vestiging: {{branch.name}}.</p>
                """, text: "Welkom {{customer.first_name}}!\n\nJe pas werkt in alle vestigingen. Je favoriete vestiging: {{branch.name}}.", by: actor,
            now: now, in: tx)
        let welcome2 = try await template(
            "Welkom: tips", subject: "Al iets gevonden, {{customer.first_name}}?",
            html: """
                <p>Hoi {{customer.first_name}}, nog niets geleend? Onze tips voor deze week staan op de website.</p>
                """, text: "Hoi {{customer.first_name}}, nog niets geleend? Onze tips voor deze week staan op de website.", by: actor, now: now,
            in: tx)
        let welcome = try await Campaigns.create(
            CampaignDraft(
                name: "Welkom nieuwe leden", kind: .journey, purpose: .service,
                journey: Journey(
                    trigger: .welcome,
                    steps: [
                        .init(waitDays: 0, templateID: welcome1),
                        .init(
                            waitDays: 14, templateID: welcome2,
                            condition: .condition(SegmentCondition(field: "never_borrowed", op: "=", value: .bool(true)))),
                    ])), by: actor, now: now, in: tx)
        let reminderTemplate = try await template(
            "Herinnering activiteit", subject: "Tot {{activity.date}}: {{activity.title}}",
            html: """
                <p>Beste {{customer.first_name}},</p><p>Je hebt je aangemeld voor <strong>{{activity.title}}</strong> op {{activity.when}} in {{activity.branch}}.</p>
                """,
            text: "Beste {{customer.first_name}},\n\nJe hebt je aangemeld voor {{activity.title}} op {{activity.when}} in {{activity.branch}}.",
            by: actor, now: now, in: tx)
        let reminder = try await Campaigns.create(
            CampaignDraft(
                name: "Herinnering 3 dagen voor de activiteit", kind: .journey, purpose: .service,
                journey: Journey(trigger: .activityReminder, days: 3, steps: [.init(templateID: reminderTemplate)])),
            by: actor, now: now, in: tx)
        let thirdHalfTemplate = try await template(
            "Derde helft", subject: "Hoe was {{activity.title}}?",
            html: """
                <p>Beste {{customer.first_name}},</p><p>Bedankt voor je komst naar {{activity.title}}. Wat vond je ervan? Je antwoord helpt ons.</p>
                {{#evaluation_url}}<p><a href="{{{evaluation_url}}}">Geef je cijfer</a></p>{{/evaluation_url}}
                """,
            text: """
                Beste {{customer.first_name}},

                Bedankt voor je komst naar {{activity.title}}. Wat vond je ervan? Je antwoord helpt ons.
                {{#evaluation_url}}
                Geef je cijfer: {{{evaluation_url}}}
                {{/evaluation_url}}
                """, by: actor, now: now, in: tx)
        let thirdHalf = try await Campaigns.create(
            CampaignDraft(
                name: "Derde helft", kind: .journey, purpose: .service,
                journey: Journey(trigger: .thirdHalf, days: 1, steps: [.init(templateID: thirdHalfTemplate)])),
            by: actor, now: now, in: tx)
        for journey in [welcome, reminder, thirdHalf] {
            _ = try await Campaigns.schedule(id: journey.id, at: nil, by: actor, now: now, in: tx)
        }
        let b2b = try await seedRelations(by: actor, now: now, in: tx)
        return Seeded(
            weeklyList: list, newsletters: newsletters, welcome: welcome.id, reminder: reminder.id, thirdHalf: thirdHalf.id,
            educationList: b2b?.list, educationNewsletter: b2b?.newsletter, newYearGreetings: b2b?.greetings ?? [])
    }

    /// The B2B mailings, if the library has contacts: two lists that are not offered on the public forms (contacts
    /// agree through their account manager, recorded as staff statements), a segment per relation type, the drafts.
    private func seedRelations(
        by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> (list: UUID, newsletter: UUID, greetings: [UUID])? {
        guard try await tx.query("SELECT count(*)::int FROM contacts").decode(Int.self).reduce(0, +) > 0 else { return nil }
        let education = UUID()
        let relations = UUID()
        try await tx.query(
            """
            INSERT INTO lists (id, key, name, description, consent_text, consent_version, public, created_at, updated_at) VALUES
            (\(education), 'onderwijs', 'Onderwijsnieuwsbrief', 'Het aanbod van de bibliotheek voor scholen, elk kwartaal.',
             'Ja, ik ontvang de Onderwijsnieuwsbrief van de bibliotheek. Afmelden kan altijd via de link in elke nieuwsbrief.', 'demo-v1', false, \(now), \(now)),
            (\(relations), 'relaties', 'Relatienieuws', 'Nieuws en de nieuwjaarsgroet voor de partners van de bibliotheek.',
             'Ja, ik ontvang nieuws van de bibliotheek voor haar relaties. Afmelden kan altijd via de link in elke mail.', 'demo-v1', false, \(now), \(now))
            """)
        // The demo's own contacts (RelationsDemo, at relatie.example) only: everyone in a role at a school or board
        // agreed to the newsletter, every one to the relations mail.
        try await tx.query(
            """
            INSERT INTO contact_consents (contact_id, topic, status, recorded_at, source, evidence, text_version)
            SELECT DISTINCT cr.contact_id, 'list:onderwijs', 'opted_in', \(now), 'staff', '{"via": "accountgesprek (demo)"}'::jsonb, 'demo-v1'
            FROM contact_roles cr JOIN organisations o ON o.id = cr.organisation_id JOIN contacts c ON c.id = cr.contact_id
            WHERE o.type IN ('primary_school', 'secondary_school', 'school_board') AND c.email LIKE '%@relatie.example'
            """)
        try await tx.query(
            """
            INSERT INTO contact_consents (contact_id, topic, status, recorded_at, source, evidence, text_version)
            SELECT id, 'list:relaties', 'opted_in', \(now), 'staff', '{"via": "accountgesprek (demo)"}'::jsonb, 'demo-v1'
            FROM contacts WHERE email LIKE '%@relatie.example'
            """)
        func segment(_ name: String, types: [String]) async throws -> UUID {
            try await Segments.create(
                SegmentDraft(
                    name: name, subject: Segment.Subject.b2b.rawValue,
                    rule: .condition(
                        SegmentCondition(
                            field: "organisation_type", op: "in", value: .array(types.map { .string($0) })))), by: actor, now: now, in: tx
            ).id
        }
        let schools = try await segment("Onderwijs", types: ["primary_school", "secondary_school", "school_board"])
        let partners = try await segment("Gemeente, partners en fondsen", types: ["municipality", "partner", "fund", "friend_sponsor"])
        let newsletterTemplate = try await template(
            "Onderwijsnieuwsbrief", subject: "Nieuws voor {{organisation.name}}",
            html: """
                <p>Beste {{contact.first_name}},</p>
                <p>Dit kwartaal heeft de bibliotheek nieuw aanbod voor {{organisation.name}}: voorleesprojecten, themacollecties en de leesmonitor.</p>
                <p><a href="https://www.bibliotheek.nl/onderwijs">Bekijk het aanbod voor scholen</a></p>
                """,
            text: """
                Beste {{contact.first_name}},

                Dit kwartaal heeft de bibliotheek nieuw aanbod voor {{organisation.name}}: voorleesprojecten, themacollecties en de leesmonitor.
                Het aanbod voor scholen: https://www.bibliotheek.nl/onderwijs
                """, by: actor, now: now, in: tx)
        let newsletter = try await Campaigns.create(
            CampaignDraft(
                name: "Onderwijsnieuwsbrief", listID: education, segmentID: schools,
                templateID: newsletterTemplate, audience: .b2b), by: actor, now: now, in: tx
        ).id
        let year = CalendarDate(now).year + 1
        var greetings: [UUID] = []
        for (name, segmentID, wish) in [
            ("Nieuwjaarsgroet onderwijs", schools, "Dank voor alle kinderen die we samen aan het lezen kregen."),
            ("Nieuwjaarsgroet gemeente en partners", partners, "Dank voor de samenwerking voor een geletterde en verbonden gemeente."),
        ] {
            let greeting = try await template(
                name, subject: "Gelukkig \(year), {{contact.first_name}}",
                html: """
                    <p>Beste {{contact.full_name}},</p><p>\(wish)</p><p>Wij wensen u en {{organisation.name}} een goed \(year).</p><p>{{library.name}}</p>
                    """,
                text: "Beste {{contact.full_name}},\n\n\(wish)\n\nWij wensen u en {{organisation.name}} een goed \(year).\n\n{{library.name}}",
                by: actor, now: now, in: tx)
            greetings.append(
                try await Campaigns.create(
                    CampaignDraft(
                        name: name, listID: relations, segmentID: segmentID, templateID: greeting,
                        audience: .b2b), by: actor, now: now, in: tx
                ).id)
        }
        return (education, newsletter, greetings)
    }

    private func template(
        _ name: String, subject: String, html: String, text: String, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> UUID {
        try await Templates.create(TemplateDraft(name: name, subject: subject, html: html, text: text), by: actor, now: now, in: tx).id
    }
}
