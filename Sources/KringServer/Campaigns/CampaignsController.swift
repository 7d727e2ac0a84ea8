import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringMail

extension Campaign: ResponseEncodable {}
extension CampaignStats: ResponseEncodable {}

/// One-off campaigns and journeys: create and change drafts, schedule or send now, pause, resume, cancel, report.
struct CampaignsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await create(request, context) }
        group.get(":id") { _, context in try await read(context) }
        group.put(":id") { request, context in try await update(request, context) }
        group.post(":id/schedule") { request, context in try await schedule(request, context) }
        group.post(":id/pause") { _, context in try await transition("pause", context) }
        group.post(":id/resume") { _, context in try await transition("resume", context) }
        group.post(":id/cancel") { _, context in try await transition("cancel", context) }
        group.get(":id/stats") { _, context in try await stats(context) }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<Campaign> {
        let page = try Page(request)
        var after: UUID?
        if let raw = page.after {
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a campaign id.") }
            after = id
        }
        let items = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            try await Campaigns.list(after: after, limit: page.limit, in: tx)
        }
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.id.uuidString.lowercased() : nil)
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<Campaign> {
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(CampaignDraft.self, limit: services.settings.maxBodyBytes)
        let campaign = try await services.inTenant(.campaignsWrite, context) { tx, actor, now in
            try await Campaigns.create(draft, by: actor, now: now, in: tx)
        }
        var response = EditedResponse(status: .created, response: campaign)
        response.headers[.location] = "/api/v1/campaigns/\(campaign.id.uuidString.lowercased())"
        return response
    }

    func read(_ context: KringRequestContext) async throws -> Campaign {
        let id = try campaignID(context)
        return try await services.inTenant(.campaignsRead, context, record: id, "campaign", notFound: CampaignError.notFound) { tx, _, _ in
            try await Campaigns.find(id: id, in: tx)
        }
    }

    func update(_ request: Request, _ context: KringRequestContext) async throws -> Campaign {
        let id = try campaignID(context)
        _ = try context.requireTenant(.campaignsWrite)
        let draft = try await request.decodeJSON(CampaignDraft.self, limit: services.settings.maxBodyBytes)
        return try await services.inTenant(.campaignsWrite, context, record: id, "campaign", notFound: CampaignError.notFound) { tx, actor, now in
            try await Campaigns.update(id: id, with: draft, by: actor, now: now, in: tx)
        }
    }

    struct ScheduleBody: Decodable {
        let at: Date?
    }

    /// `{"at": "2027-01-05T08:00:00Z"}` schedules; `{}` sends now (or starts a journey).
    func schedule(_ request: Request, _ context: KringRequestContext) async throws -> Campaign {
        let id = try campaignID(context)
        _ = try context.requireTenant(.campaignsWrite)
        let body = try await request.decodeJSON(ScheduleBody.self, limit: services.settings.maxBodyBytes)
        // Refused up front: otherwise every recipient would fail one by one after the snapshot.
        if let links = services.settings.links, let base = URL(string: links.baseURL), !MailMessage.acceptsUnsubscribeURL(base) {
            throw Problem(
                status: 409, type: "https://kring.nl/problems/not-configured", title: "Not configured",
                detail: "Campaign mail needs a one-click unsubscribe link, which must be https: set KRING_PUBLIC_URL to the https address "
                    + "of this Kring (plain http works only on 127.0.0.1 or localhost, for a local run).")
        }
        return try await services.inTenant(.campaignsWrite, context, record: id, "campaign", notFound: CampaignError.notFound) { tx, actor, now in
            try await Campaigns.schedule(id: id, at: body.at, by: actor, now: now, in: tx)
        }
    }

    func transition(_ action: String, _ context: KringRequestContext) async throws -> Campaign {
        let id = try campaignID(context)
        return try await services.inTenant(.campaignsWrite, context, record: id, "campaign", notFound: CampaignError.notFound) { tx, actor, now in
            try await Campaigns.transition(id: id, to: action, by: actor, now: now, in: tx)
        }
    }

    func stats(_ context: KringRequestContext) async throws -> CampaignStats {
        let id = try campaignID(context)
        return try await services.inTenant(.campaignsRead, context, record: id, "campaign", notFound: CampaignError.notFound) { tx, _, _ in
            try await Campaigns.stats(id: id, in: tx)
        }
    }

    // MARK: Helpers

    private func campaignID(_ context: KringRequestContext) throws -> UUID {
        try uuid(context, "id", CampaignError.notFound)
    }
}

/// The scheduler job of the campaign module.
public enum CampaignJobs {
    /// Starts due campaigns, runs journeys and closes finished campaigns in every active library; re-schedules itself.
    public static let tick = "campaigns.tick"
    public static let interval: TimeInterval = 60

    public static func handlers(db: Database, now: @escaping @Sendable () -> Date) -> [String: JobHandler] {
        [
            tick: { _ in
                let time = now()
                try await RecurringJobs.eachActiveLibrary("the campaign scheduler", kind: tick, interval: interval, db: db, now: time) { tx in
                    try await Campaigns.tick(now: time, in: tx)
                }
            }
        ]
    }

    public static func scheduleTick(at time: Date, in tx: PlatformTransaction) async throws {
        try await RecurringJobs.queueOnce(tick, at: time, in: tx)
    }
}
