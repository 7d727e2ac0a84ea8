import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer

/// Reeksen: the library's journeys (welcome, birthday, reminder, third half, no-show, loyalty, win-back, membership
/// ending) with their steps, on or off, and how many people each step has mailed, is waiting to mail or skipped.
struct JourneyPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes/reeksen") { request, context in try await list(request, context) }
    }

    static let notices: [String: String] = [
        "verzenden": "De reeks staat aan.", "hervatten": "De reeks staat aan.", "pauzeren": "De reeks staat uit.",
        "status": "Dat kan nu niet: de reeks is intussen veranderd.", "onvolledig": "De reeks mist nog een sjabloon.",
    ]

    static func trigger(_ journey: Journey) -> String {
        let days = journey.days
        switch journey.trigger {
        case .welcome: return "Welkom: bij een nieuw lidmaatschap"
        case .birthday: return "Verjaardag: op de dag zelf"
        case .activityReminder: return "Herinnering: \(days ?? 3) dagen voor een activiteit waarvoor iemand zich aanmeldde"
        case .thirdHalf: return "Derde helft: \(days ?? 1) dag(en) na een activiteit waar iemand was"
        case .noShow: return "Niet verschenen: \(days ?? 1) dag(en) na een activiteit waar iemand zich voor aanmeldde maar niet kwam"
        case .loyalty: return "Trouw: \(journey.years ?? 5) jaar lid"
        case .winback: return "Terugwinnen: lid, maar \(journey.months ?? 12) maanden niets geleend"
        case .membershipEnding: return "Lidmaatschap eindigt: \(days ?? 30) dagen ervoor"
        }
    }

    struct StepLine: Sendable {
        let label: String
        let template: String
        let condition: String
        let sent: String
        let waiting: String
        let skipped: String
    }

    struct JourneyBlock: Sendable {
        let id: String
        let href: String
        let name: String
        let trigger: String
        let on: Bool
        let stateText: String
        let steps: [StepLine]
        let canToggle: Bool
        let toggleAction: String
        let toggleLabel: String
    }

    struct ListModel {
        let chrome: Chrome
        let journeysTab = true
        let journeys: [JourneyBlock]
        let none: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let (journeys, templateNames) = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            var journeys: [(Campaign, [Int: (waiting: Int, sent: Int, skipped: Int)])] = []
            for campaign in try await Campaigns.list(after: nil, limit: 500, in: tx) where campaign.kind == .journey {
                journeys.append((campaign, try await Campaigns.stepCounts(id: campaign.id, in: tx)))
            }
            var names: [UUID: String] = [:]
            for template in try await Templates.list(after: nil, limit: 500, in: tx) { names[template.id] = template.name }
            return (journeys, names)
        }
        let may = staff.may(.campaignsWrite)
        let blocks = journeys.sorted { $0.0.name.localizedStandardCompare($1.0.name) == .orderedAscending }.map { campaign, counts in
            let steps = (campaign.journey?.steps ?? []).enumerated().map { index, step in
                let count = counts[index] ?? (0, 0, 0)
                return StepLine(
                    label: "Stap \(index + 1): "
                        + (step.waitDays == 0 ? (index == 0 ? "meteen" : "meteen na de vorige") : "\(step.waitDays) dagen later"),
                    template: templateNames[step.templateID] ?? "sjabloon verwijderd",
                    condition: step.condition == nil ? "" : "alleen wie dan aan de voorwaarde voldoet", sent: Dutch.number(count.sent),
                    waiting: Dutch.number(count.waiting), skipped: Dutch.number(count.skipped))
            }
            let on = campaign.state == .active
            let action: String
            switch campaign.state {
            case .active: action = "pauzeren"
            case .paused: action = "hervatten"
            default: action = "verzenden"
            }
            return JourneyBlock(
                id: campaign.id.lower, href: CampaignPages.path(campaign.id), name: campaign.name,
                trigger: campaign.journey.map(Self.trigger) ?? "", on: on, stateText: on ? "aan" : "uit", steps: steps,
                canToggle: may && campaign.state != .cancelled, toggleAction: "/campagnes/\(campaign.id.lower)/\(action)",
                toggleLabel: on ? "Uitzetten" : "Aanzetten")
        }
        let notice = request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] }
        let model = ListModel(chrome: staff.chrome("Reeksen", area: "/campagnes", notice: notice), journeys: blocks, none: blocks.isEmpty)
        return WebResponse.html(try templates.render("campaigns/journeys", model))
    }
}
