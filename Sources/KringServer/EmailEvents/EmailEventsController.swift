import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore

extension MailReports.Outcome: ResponseEncodable {}

/// `POST /email-events`: a mail provider's webhook (API key with scope `email-events:write`) reporting deliveries,
/// bounces and complaints, at most 1000 per request. Naturally idempotent (see `MailReports`): a repeated delivery
/// of the same batch changes nothing, so no `Idempotency-Key` is needed.
struct EmailEventsController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.post { request, context in try await ingest(request, context) }
    }

    func ingest(_ request: Request, _ context: KringRequestContext) async throws -> MailReports.Outcome {
        _ = try context.requireTenant(.emailEventsWrite)
        let object = try await request.jsonObject(limit: services.settings.maxBodyBytes)
        guard let events = object["events"] as? [Any] else {
            throw Problem.validation([FieldError(field: "events", message: "Give the events as an array.")])
        }
        guard events.count <= MailReports.maximumBatch else {
            throw Problem.validation([FieldError(field: "events", message: "Send at most \(MailReports.maximumBatch) events per request.")])
        }
        var reports: [MailReports.Report] = []
        for (index, event) in events.enumerated() {
            guard let fields = event as? [String: Any] else {
                throw Problem.validation([FieldError(field: "events[\(index)]", message: "Each event is an object.")])
            }
            reports.append(try MailReports.Report(json: fields, index: index))
        }
        return try await services.inTenant(.emailEventsWrite, context) { tx, actor, now in
            try await MailReports.ingest(reports, by: actor, now: now, in: tx)
        }
    }
}
