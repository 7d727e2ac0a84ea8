import Foundation
import HTTPTypes
import KringAuth
import KringCampaigns
import KringDatabase
import KringTestSupport

extension RouteCase {
    /// The template routes; `{template}` is a template of the caller's library (version 1), `{customer}` a customer.
    static let templates: [RouteCase] = [
        RouteCase(method: .get, path: "/api/v1/templates", permission: .campaignsRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/templates", permission: .campaignsWrite, body: templateBody),
        RouteCase(method: .get, path: "/api/v1/templates/{template}", permission: .campaignsRead, body: nil),
        RouteCase(method: .get, path: "/api/v1/templates/{template}?version=1", permission: .campaignsRead, body: nil),
        RouteCase(method: .put, path: "/api/v1/templates/{template}", permission: .campaignsWrite, body: templateBody, ifMatch: true),
        RouteCase(method: .post, path: "/api/v1/templates/{template}/preview", permission: .campaignsWrite, body: ["customer_id": "{customer}"]),
    ]

    static let templateBody: [String: any Sendable] = [
        "name": "Nieuwsbrief", "subject": "Nieuws voor {{customer.first_name}}",
        "html": "<p>Beste {{customer.full_name}},</p>", "text": "Beste {{customer.full_name}},",
    ]
}

extension CampaignFixtures {
    static let templatePlaceholders = ["{template}"]
}

extension TestEnvironment {
    /// Template records of `tenant` by placeholder.
    func createTemplateFixtures(in tenant: Tenant) async throws -> [String: String] {
        let draft = TemplateDraft(
            name: "Welkom", subject: "Welkom, {{customer.first_name}}", html: "<p>Welkom bij {{library.name}}.</p>",
            text: "Welkom bij {{library.name}}.")
        let template = try await db.withTenant(tenant) { tx in try await Templates.create(draft, by: .system, now: Date(), in: tx) }
        return ["{template}": template.id.uuidString.lowercased()]
    }
}
