import Foundation
import KringCampaigns
import KringDatabase
import KringTestSupport

extension RouteCase {
    /// The campaign and journey routes. `{campaign}` is a draft that is ready to go, `{scheduled}` one scheduled for
    /// later, `{paused}` a paused one; `{sendtemplate}` and `{sendlist}` a template and a list of the same library.
    static let campaigns: [RouteCase] = [
        RouteCase(method: .get, path: "/api/v1/campaigns", permission: .campaignsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/campaigns", permission: .campaignsWrite,
            body: ["name": "Nieuwsbrief december", "list_id": "{sendlist}", "template_id": "{sendtemplate}", "subject": "Nieuws uit de bibliotheek"]),
        RouteCase(method: .get, path: "/api/v1/campaigns/{campaign}", permission: .campaignsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/campaigns/{campaign}", permission: .campaignsWrite,
            body: ["name": "Nieuwsbrief januari", "list_id": "{sendlist}", "template_id": "{sendtemplate}"]),
        RouteCase(method: .post, path: "/api/v1/campaigns/{campaign}/schedule", permission: .campaignsWrite, body: [:]),
        RouteCase(method: .post, path: "/api/v1/campaigns/{scheduled}/pause", permission: .campaignsWrite, body: nil),
        RouteCase(method: .post, path: "/api/v1/campaigns/{paused}/resume", permission: .campaignsWrite, body: nil),
        RouteCase(method: .post, path: "/api/v1/campaigns/{campaign}/cancel", permission: .campaignsWrite, body: nil),
        RouteCase(method: .get, path: "/api/v1/campaigns/{campaign}/stats", permission: .campaignsRead, body: nil),
    ]
}

extension CampaignFixtures {
    static let campaignPlaceholders = ["{campaign}", "{scheduled}", "{paused}", "{sendtemplate}", "{sendlist}"]
}

extension TestEnvironment {
    /// A template and a list (inserted as rows), a ready draft, a scheduled and a paused campaign in `tenant`.
    func createSendFixtures(in tenant: Tenant) async throws -> [String: String] {
        try await db.withTenant(tenant) { tx in
            let now = Date()
            let list = UUID()
            let template = try await Templates.create(
                TemplateDraft(
                    name: "Nieuwsbrief", subject: "Nieuws",
                    html: "<p>Hallo {{customer.first_name}}</p>", text: "Hallo {{customer.first_name}}"),
                by: .system, now: now, in: tx
            ).id
            try await tx.query(
                """
                INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
                VALUES (\(list), \("nieuws-" + UUID().uuidString.prefix(6).lowercased()), 'Nieuwsbrief', 'Ik wil de nieuwsbrief ontvangen.', 'v1', \(now), \(now))
                """)
            let draft = CampaignDraft(
                name: "Fixture", listID: list, templateID: template, subject: "Nieuws", fromAddress: "nieuws@bibliotheek.example")
            let ready = try await Campaigns.create(draft, by: .system, now: now, in: tx)
            let scheduled = try await Campaigns.create(draft, by: .system, now: now, in: tx)
            _ = try await Campaigns.schedule(id: scheduled.id, at: now.addingTimeInterval(86_400), by: .system, now: now, in: tx)
            let paused = try await Campaigns.create(draft, by: .system, now: now, in: tx)
            _ = try await Campaigns.schedule(id: paused.id, at: now.addingTimeInterval(86_400), by: .system, now: now, in: tx)
            _ = try await Campaigns.transition(id: paused.id, to: "pause", by: .system, now: now, in: tx)
            return [
                "{campaign}": ready.id.uuidString.lowercased(), "{scheduled}": scheduled.id.uuidString.lowercased(),
                "{paused}": paused.id.uuidString.lowercased(), "{sendtemplate}": template.uuidString.lowercased(),
                "{sendlist}": list.uuidString.lowercased(),
            ]
        }
    }
}
