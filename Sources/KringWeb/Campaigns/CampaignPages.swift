import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer

/// Campagnes: the library's one-off campaigns and journeys, with their state and audience.
struct CampaignPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes") { request, context in try await list(request, context) }
    }

    static let listLimit = 200
    static let stateNames: [Campaign.State: String] = [
        .draft: "concept", .scheduled: "gepland", .sending: "wordt verzonden", .sent: "verzonden", .paused: "gepauzeerd",
        .cancelled: "geannuleerd", .active: "actief",
    ]
    static let kindNames: [Campaign.Kind: String] = [.oneOff: "campagne", .journey: "reeks", .transactional: "dienstbericht"]

    struct Row: Sendable {
        let name: String
        let kind: String
        let state: String
        let when: String
        let recipients: String
    }

    struct ListModel {
        let chrome: Chrome
        let campaignsTab = true
        let rows: [Row]
        let none: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let campaigns = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            try await Campaigns.list(after: nil, limit: Self.listLimit, in: tx)
        }
        let rows = campaigns.sorted { ($0.startedAt ?? $0.scheduledAt ?? $0.createdAt) > ($1.startedAt ?? $1.scheduledAt ?? $1.createdAt) }.map {
            campaign in
            Row(
                name: campaign.name, kind: Self.kindNames[campaign.kind] ?? campaign.kind.rawValue,
                state: Self.stateNames[campaign.state] ?? campaign.state.rawValue,
                when: (campaign.finishedAt ?? campaign.startedAt ?? campaign.scheduledAt).map { Dutch.dateTime($0) } ?? "",
                recipients: campaign.recipients.map { Dutch.number($0) } ?? "")
        }
        let model = ListModel(chrome: staff.chrome("Campagnes", area: "/campagnes"), rows: rows, none: rows.isEmpty)
        return WebResponse.html(try templates.render("campaigns/list", model))
    }
}
