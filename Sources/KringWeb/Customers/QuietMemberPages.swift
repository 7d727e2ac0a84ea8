import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringInsight
import KringServer

/// Klanten › Stille leden: the churn early warning. Active members who borrowed before but not for N months (default
/// 12), counted per branch and member type, listed longest quiet first for the front desk to work through ("Contact
/// gezocht" puts an outbound contact moment on the member's timeline), and one link to a segment of them for a win-back
/// campaign.
struct QuietMemberPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("klanten/stille-leden") { request, context in try await list(request, context) }
        router.post("klanten/stille-leden/:id/contact") { request, context in try await contacted(request, context) }
    }

    static let pageSize = 50
    static let monthChoices = [6, 9, 12, 18, 24, 36]

    struct Question {
        var months: Int
        var branchID: UUID?
        var onlyUncontacted: Bool
        var page: Int

        init(_ query: [String: String]) {
            months = query["maanden"].flatMap(Int.init).flatMap { monthChoices.contains($0) ? $0 : nil } ?? 12
            branchID = query["vestiging"].flatMap(UUID.init(uuidString:))
            onlyUncontacted = query["open"] == "ja"
            page = max(1, query["pagina"].flatMap(Int.init) ?? 1)
        }

        func link(page: Int? = nil) -> String {
            var parts = ["maanden=\(months)"]
            if let branchID { parts.append("vestiging=\(branchID.lower)") }
            if onlyUncontacted { parts.append("open=ja") }
            if let page, page > 1 { parts.append("pagina=\(page)") }
            return "/klanten/stille-leden?" + parts.joined(separator: "&")
        }
    }

    struct Row: Sendable {
        let href: String
        let name: String
        let number: String
        let type: String
        let branch: String
        let lastLoan: String
        let contacted: String?
        let contactAction: String
    }

    struct Model {
        let chrome: Chrome
        let months: [Choice]
        let branches: [Choice]
        let onlyUncontacted: Bool
        let total: String
        let byBranch: [QuietMembers.Count]
        let byType: [QuietMembers.Count]
        let rows: [Row]
        let none: Bool
        let canContact: Bool
        let segmentHref: String?
        let back: String?
        let next: String?
        let returnTo: String
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let question = Question(query)
        let (counts, members, branches) = try await services.inTenant(.customersRead, context) { tx, actor, now in
            let today = CalendarDate(now)
            return (
                try await QuietMembers.counts(today: today, months: question.months, in: tx),
                try await QuietMembers.list(
                    today: today, months: question.months, branchID: question.branchID, onlyUncontacted: question.onlyUncontacted,
                    offset: (question.page - 1) * Self.pageSize, limit: Self.pageSize + 1, by: actor, now: now, in: tx),
                try await Branches.list(in: tx)
            )
        }
        let typeNames = Dictionary(uniqueKeysWithValues: CustomerPages.memberTypeNames.map { ($0.key.rawValue, $0.value) })
        let rows = members.prefix(Self.pageSize).map { member in
            Row(
                href: "/klanten/\(member.id.lower)", name: member.name.isEmpty ? "(geen naam)" : member.name, number: member.memberNumber ?? "",
                type: member.memberType.flatMap { typeNames[$0] } ?? "", branch: member.branch ?? "", lastLoan: Dutch.date(member.lastLoan),
                contacted: member.contactedAt.map { "contact gezocht op \(Dutch.date($0))" },
                contactAction: "/klanten/stille-leden/\(member.id.lower)/contact")
        }
        let model = Model(
            chrome: staff.chrome("Stille leden", area: "/klanten", notice: query["gedaan"] == "contact" ? "Vastgelegd op de tijdlijn." : nil),
            months: Self.monthChoices.map { Choice(value: String($0), label: "\($0) maanden", selected: $0 == question.months) },
            branches: [Choice(value: "", label: "Alle vestigingen", selected: question.branchID == nil)]
                + branches.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id == question.branchID) },
            onlyUncontacted: question.onlyUncontacted,
            total:
                "\(Dutch.number(counts.total)) \(counts.total == 1 ? "actief lid leent" : "actieve leden lenen") al \(question.months) maanden of langer niet meer",
            byBranch: counts.branches, byType: counts.types.map { QuietMembers.Count(label: typeNames[$0.label] ?? $0.label, count: $0.count) },
            rows: Array(rows), none: rows.isEmpty, canContact: staff.may(.customersWrite),
            segmentHref: staff.may(.segmentsWrite) ? "/campagnes/segmenten/nieuw?stil=\(question.months)" : nil,
            back: question.page > 1 ? question.link(page: question.page - 1) : nil,
            next: members.count > Self.pageSize ? question.link(page: question.page + 1) : nil, returnTo: question.link(page: question.page))
        return WebResponse.html(try templates.render("customers/quiet", model))
    }

    /// "Contact gezocht": an outbound contact moment on the member's timeline; back to the same page of the list.
    func contacted(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw CustomerError.notFound }
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let channel = ContactMoment.Channel(rawValue: form.value("channel") ?? "") ?? .phone
        try await services.inTenant(.customersWrite, context, probing: [id]) { tx, actor, now in
            _ = try await Timeline.add(
                ContactMomentDraft(channel: channel.rawValue, direction: "outbound", subject: QuietMembers.subject, body: nil),
                customerID: id, by: actor, now: now, in: tx)
        }
        let back = form.value("terug").flatMap { $0.hasPrefix("/klanten/stille-leden?") ? $0 : nil } ?? "/klanten/stille-leden?maanden=12"
        return WebResponse.redirect(back + "&gedaan=contact")
    }
}
