import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@testable import KringCampaigns

/// What a recipient's mail knows about them, loaded for a batch: personal fields, suggested activities, the
/// reminder's activity; and the template store's versions and the library's layout.
@Suite struct TemplateContextsTests {
    /// Thursday 10 December 2026, 12:00 in the Netherlands.
    static let now = Date(timeIntervalSince1970: 1_796_900_400)

    struct Library {
        let env: TestEnvironment
        let tenant: Tenant
        let anna: UUID
        let bram: UUID
        let erased: UUID
        let reminder: UUID
    }

    static func makeLibrary() async throws -> Library {
        let env = try await TestEnvironment.forSuite("TemplateContexts")
        let tenant = try await env.createTenant("tc")
        let (centrale, noord) = (UUID(), UUID())
        let (anna, bram, erased, reminder) = (UUID(), UUID(), UUID(), UUID())
        let now = Self.now
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO branches (id, name, municipality, created_at) VALUES (\(centrale), 'Centrale', 'Haarlem', \(now)), (\(noord), 'Noord', 'Haarlem', \(now))
                """)
            try await tx.query(
                """
                INSERT INTO customers (id, roles, member_type, first_name, infix, last_name, birth_date, favourite_branch_id, genres, created_at, updated_at)
                VALUES (\(anna), ARRAY['member'], 'adult', 'Anna', 'de', 'Vries', DATE '1990-12-11', \(centrale), ARRAY['poetry'], \(now), \(now)),
                       (\(bram), ARRAY['guest'], NULL, 'Bram', NULL, NULL, NULL, NULL, '{}', \(now), \(now)),
                       (\(erased), ARRAY['member'], 'adult', 'Weg', NULL, 'Gewist', NULL, \(centrale), '{}', \(now), \(now))
                """)
            try await tx.query("UPDATE customers SET erased_at = \(now) WHERE id = \(erased)")
            // Saturday 12 December 14:00 (13:00 UTC) at the Centrale comes first; then a poetry evening at Noord,
            // two more at the Centrale (the fourth is one too many), one past the 60 days and one for nobody.
            let day: TimeInterval = 86_400
            let saturday = now.addingTimeInterval(2 * day + 7200)
            let activities: [(UUID, String, String, UUID, Date)] = [
                (reminder, "Taalcafé", "nt2", centrale, saturday),
                (UUID(), "Poëzieavond", "poetry", noord, saturday.addingTimeInterval(day)),
                (UUID(), "Voorlezen", "youth", centrale, saturday.addingTimeInterval(2 * day)),
                (UUID(), "Schrijfles", "course", centrale, saturday.addingTimeInterval(3 * day)),
                (UUID(), "Te ver weg", "course", centrale, now.addingTimeInterval(61 * day)),
                (UUID(), "Elders", "course", noord, saturday),
                (UUID(), "Voorbij", "course", centrale, now.addingTimeInterval(-day)),
            ]
            for (id, title, category, branch, starts) in activities {
                try await tx.query(
                    """
                    INSERT INTO activities (id, title, category, branch_id, starts_at, ends_at, created_at, updated_at)
                    VALUES (\(id), \(title), \(category), \(branch), \(starts), \(starts.addingTimeInterval(3600)), \(now), \(now))
                    """)
            }
        }
        return Library(env: env, tenant: tenant, anna: anna, bram: bram, erased: erased, reminder: reminder)
    }

    @Test func aBatchGetsPersonalFieldsActivitiesAndTheRemindersActivity() async throws {
        let library = try await Self.makeLibrary()
        let unknown = UUID()
        let contexts = try await library.env.db.withTenant(library.tenant) { tx in
            try await RecipientContexts.load(
                [
                    (.customer(library.anna), ["activity_id": library.reminder.uuidString.lowercased(), "evaluation_url": "https://e.test/1"]),
                    (.customer(library.bram), [:]), (.customer(library.erased), [:]), (.customer(unknown), ["confirm_url": "https://c.test"]),
                ],
                library: "Bibliotheek Zuid-Kennemerland", now: Self.now, in: tx)
        }
        try #require(contexts.count == 4)
        let anna = contexts[0]
        #expect(anna.customer == ["first_name": "Anna", "last_name": "de Vries", "full_name": "Anna de Vries", "member_type": "adult", "age": "35"])
        #expect(anna.branch == ["name": "Centrale"])
        #expect(anna.library == ["name": "Bibliotheek Zuid-Kennemerland"])
        #expect(anna.activities.map { $0["title"] } == ["Taalcafé", "Poëzieavond", "Voorlezen"])
        #expect(anna.activities.first?["when"] == "zaterdag 12 december, 14:00")
        #expect(anna.activities.first?["date"] == "zaterdag 12 december")
        #expect(anna.activities.first?["time"] == "14:00")
        #expect(anna.activities[1]["branch"] == "Noord")
        #expect(anna.activity?["title"] == "Taalcafé")
        #expect(anna.activity?["when"] == "zaterdag 12 december, 14:00")
        #expect(anna.variables["evaluation_url"] == "https://e.test/1")
        #expect(anna.links.isEmpty)
        // A guest without branch, genres or birth date: names only, no suggestions.
        #expect(contexts[1].customer == ["first_name": "Bram", "last_name": "", "full_name": "Bram", "member_type": ""])
        #expect(contexts[1].activities.isEmpty)
        #expect(contexts[1].branch.isEmpty)
        // Erased and unknown customers: nothing personal, the send's own context still there.
        #expect(contexts[2].customer.isEmpty)
        #expect(contexts[2].activities.isEmpty)
        #expect(contexts[3].customer.isEmpty)
        #expect(contexts[3].variables == ["confirm_url": "https://c.test"])

        let content = TemplateContent(
            subject: "Tot zaterdag, {{customer.first_name}}",
            html: "<p>{{activity.title}} op {{activity.when}}</p>", text: "{{activity.title}} op {{activity.when}}")
        let mail = try MailRenderer(layout: .standard).render(content, context: anna, tracking: nil)
        #expect(mail.subject == "Tot zaterdag, Anna")
        #expect(mail.html.contains("<p>Taalcafé op zaterdag 12 december, 14:00</p>"))
    }

    @Test func everySaveIsAVersionAndTheLayoutComesFromTheSettings() async throws {
        let library = try await Self.makeLibrary()
        let (first, second, layout, broken) = try await library.env.db.withTenant(library.tenant) { tx in
            let created = try await Templates.create(
                TemplateDraft(name: "Welkom", subject: "Welkom", html: "<p>1</p>", text: "1"), by: .system, now: Self.now, in: tx)
            _ = try await Templates.replace(
                id: created.id, with: TemplateDraft(name: "Welkom", subject: "Welkom!", html: "<p>2</p>", text: "2"),
                expectedVersion: 1, by: .system, now: Self.now, in: tx)
            await #expect(throws: TemplateError.versionMismatch(current: 2)) {
                try await Templates.replace(
                    id: created.id, with: TemplateDraft(name: "Oud", subject: "Oud", html: "x", text: "x"),
                    expectedVersion: 1, by: .system, now: Self.now, in: tx)
            }
            let first = try await Templates.content(id: created.id, version: 1, in: tx)
            let second = try await Templates.content(id: created.id, version: nil, in: tx)
            try await tx.query(
                """
                INSERT INTO settings (key, value, updated_at) VALUES ('mail_layout_html', to_jsonb('<div>{{{content}}}</div>'::text), \(Self.now)),
                    ('mail_layout_text', to_jsonb('{{#broken}}'::text), \(Self.now))
                """)
            let layout = try await MailLayouts.load(in: tx)
            let broken = try await MailLayouts.load(in: tx).text
            return (first, second, layout, broken)
        }
        #expect(first.version == 1)
        #expect(first.content == TemplateContent(subject: "Welkom", html: "<p>1</p>", text: "1"))
        #expect(second.version == 2)
        #expect(second.content.html == "<p>2</p>")
        #expect(layout.html == "<div>{{{content}}}</div>")
        // A layout that does not parse is replaced by the standard one.
        #expect(broken == MailLayout.standard.text)
    }

    @Test(arguments: [(0, "gratis"), (5, "€ 0,05"), (750, "€ 7,50"), (2500, "€ 25,00"), (125_000, "€ 1.250,00"), (99_999_999, "€ 999.999,99")])
    func pricesPaidReadAsDutchAmounts(cents: Int, text: String) {
        #expect(RecipientContexts.euros(cents) == text)
    }
}
