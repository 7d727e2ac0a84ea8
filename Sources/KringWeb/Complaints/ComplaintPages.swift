import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// Klachten: open complaints by due date, overdue first; take one, answer and resolve it.
struct ComplaintPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("klachten") { request, context in try await list(request, context) }
        router.get("klachten/:id") { request, context in try await show(request, context, error: nil, typed: nil) }
        router.post("klachten/:id") { request, context in try await change(request, context) }
    }

    private func complaintID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw ComplaintError.notFound }
        return id
    }

    static let channelNames = ["desk": "de balie", "email": "e-mail", "phone": "de telefoon", "web": "de website", "letter": "een brief"]

    static let statusNames: [Complaint.Status: String] = [.new: "nieuw", .inProgress: "in behandeling", .resolved: "afgehandeld"]

    struct Row: Sendable {
        let href: String
        let category: String
        let received: String
        let due: String
        let overdue: Bool
        let status: String
        let owner: String
    }

    struct ListModel {
        let chrome: Chrome
        let rows: [Row]
        let empty: Bool
        let count: Int
        let overdueCount: Int
        let anyOverdue: Bool
    }

    /// Staff names by user id, for "who handles it".
    private func names(_ ids: [UUID], tenant: UUID?) async throws -> [UUID: String] {
        try await StaffNames.names(ids, tenant: tenant, services: services)
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let complaints = try await services.inTenant(.complaintsRead, context) { tx, _, _ in
            try await Complaints.list(openOnly: true, after: nil, limit: 200, in: tx)
        }
        let now = services.now()
        let owners = try await names(complaints.compactMap(\.ownerUserID), tenant: staff.tenant?.id)
        let rows = complaints.map { complaint in
            Row(
                href: "/klachten/\(complaint.id.lower)", category: complaint.category, received: Dutch.date(complaint.createdAt),
                due: Self.due(complaint.dueAt, now: now), overdue: complaint.dueAt < now,
                status: Self.statusNames[complaint.status] ?? complaint.status.rawValue,
                owner: complaint.ownerUserID.flatMap { owners[$0] } ?? "niemand")
        }
        let overdue = rows.filter(\.overdue).count
        let model = ListModel(
            chrome: staff.chrome("Klachten", area: "/klachten"), rows: rows, empty: rows.isEmpty, count: rows.count,
            overdueCount: overdue, anyOverdue: overdue > 0)
        return WebResponse.html(try templates.render("complaints/list", model))
    }

    /// "vandaag", "over 3 dagen", "2 dagen te laat".
    static func due(_ date: Date, now: Date) -> String {
        let days = Dutch.calendar.dateComponents([.day], from: Dutch.calendar.startOfDay(for: now), to: Dutch.calendar.startOfDay(for: date)).day ?? 0
        if days < 0 { return "\(-days) \(days == -1 ? "dag" : "dagen") te laat" }
        return Dutch.relativeDay(date, now: now)
    }

    struct ShowModel {
        let chrome: Chrome
        let id: String
        let category: String
        let channel: String
        let description: String?
        let received: String
        let due: String
        let overdue: Bool
        let status: String
        let owner: String
        let resolution: String?
        let customerHref: String?
        let customerName: String?
        let canManage: Bool
        let canTake: Bool
        let open: Bool
        let error: String?
        let typed: String
    }

    func show(_ request: Request, _ context: KringRequestContext, error: String?, typed: String?) async throws -> Response {
        let staff = try Staff(context)
        let id = try complaintID(context)
        let (complaint, customer) = try await services.inTenant(.complaintsRead, context, record: id, "complaint", notFound: ComplaintError.notFound)
        { tx, actor, now in
            guard let complaint = try await Complaints.find(id, in: tx) else { throw ComplaintError.notFound }
            let customer = try await complaint.customerID.asyncMap { try await Customers.read(id: $0, by: actor, now: now, in: tx) }
            return (complaint, customer)
        }
        let now = services.now()
        let owner = try await complaint.ownerUserID.asyncMap { try await names([$0], tenant: staff.tenant?.id)[$0] } ?? nil
        let model = ShowModel(
            chrome: staff.chrome(
                "Klacht: \(complaint.category)", area: "/klachten",
                notice: request.uri.queryParameters["gedaan"].map { $0 == "opgelost" ? "De klacht is afgehandeld." : "De klacht is bijgewerkt." }),
            id: id.lower, category: complaint.category, channel: Self.channelNames[complaint.channel] ?? complaint.channel,
            description: complaint.description,
            received: Dutch.dateTime(complaint.createdAt), due: Self.due(complaint.dueAt, now: now),
            overdue: complaint.dueAt < now && complaint.status != .resolved,
            status: Self.statusNames[complaint.status] ?? complaint.status.rawValue, owner: owner ?? "niemand", resolution: complaint.resolution,
            customerHref: staff.may(.customersRead) ? complaint.customerID.map { "/klanten/\($0.lower)" } : nil,
            customerName: customer?.displayName, canManage: staff.may(.complaintsManage) && complaint.status != .resolved,
            canTake: staff.may(.complaintsManage) && complaint.status != .resolved && complaint.ownerUserID != staff.principal.userID,
            open: complaint.status != .resolved, error: error, typed: typed ?? complaint.resolution ?? "")
        return WebResponse.html(try templates.render("complaints/show", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func change(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try complaintID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let action = form.value("action") ?? ""
        let resolution = (form.value("resolution") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let change: ComplaintChange
        switch action {
        case "take": change = ComplaintChange(status: "in_progress", ownerUserID: staff.principal.userID)
        case "answer": change = ComplaintChange(status: "in_progress", resolution: resolution.isEmpty ? nil : resolution)
        case "resolve":
            guard !resolution.isEmpty else {
                return try await show(request, context, error: "Schrijf op hoe de klacht is afgehandeld.", typed: resolution)
            }
            change = ComplaintChange(status: "resolved", resolution: resolution)
        default: throw Problem.badRequest("action")
        }
        _ = try await services.inTenant(.complaintsManage, context, record: id, "complaint", notFound: ComplaintError.notFound) { tx, actor, now in
            try await Complaints.update(id: id, change, by: actor, now: now, in: tx)
        }
        return WebResponse.redirect("/klachten/\(id.lower)?gedaan=\(action == "resolve" ? "opgelost" : "bijgewerkt")")
    }
}
