import Foundation
import Hummingbird
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer

/// Campagnes: the library's campaigns and journeys; a new campaign in one form (audience, template, sender, when),
/// then a summary to confirm with the count as it is now; while the workers send, the progress (snapshot, sent,
/// failed) with pause and resume; afterwards the report with a funnel and the first week's opens and clicks.
struct CampaignPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes") { request, context in try await list(request, context) }
        router.get("campagnes/nieuw") { request, context in try await form(request, context) }
        router.post("campagnes/nieuw") { request, context in try await create(request, context) }
        router.get("campagnes/:id") { request, context in try await show(request, context) }
        router.get("campagnes/:id/voortgang") { request, context in try await progress(request, context) }
        router.post("campagnes/:id/:action") { request, context in try await act(request, context) }
    }

    static let listLimit = 200
    static let stateNames: [Campaign.State: String] = [
        .draft: "concept", .scheduled: "gepland", .sending: "wordt verzonden", .sent: "verzonden", .paused: "gepauzeerd",
        .cancelled: "geannuleerd", .active: "actief",
    ]
    static let kindNames: [Campaign.Kind: String] = [.oneOff: "campagne", .journey: "reeks", .transactional: "dienstbericht"]

    private func campaignID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw CampaignError.notFound }
        return id
    }

    static func path(_ id: UUID) -> String { "/campagnes/\(id.lower)" }

    // MARK: The list

    struct Row: Sendable {
        let href: String
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
        let canCreate: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let campaigns = try await services.inTenant(.campaignsRead, context) { tx, _, _ in
            try await Campaigns.list(after: nil, limit: Self.listLimit, in: tx)
        }
        let rows = campaigns.sorted { ($0.startedAt ?? $0.scheduledAt ?? $0.createdAt) > ($1.startedAt ?? $1.scheduledAt ?? $1.createdAt) }.map {
            campaign in
            Row(
                href: Self.path(campaign.id), name: campaign.name, kind: Self.kindNames[campaign.kind] ?? campaign.kind.rawValue,
                state: Self.stateNames[campaign.state] ?? campaign.state.rawValue,
                when: (campaign.finishedAt ?? campaign.startedAt ?? campaign.scheduledAt).map { Dutch.dateTime($0) } ?? "",
                recipients: campaign.recipients.map { Dutch.number($0) } ?? "")
        }
        let model = ListModel(
            chrome: staff.chrome("Campagnes", area: "/campagnes"), rows: rows, none: rows.isEmpty, canCreate: staff.may(.campaignsWrite))
        return WebResponse.html(try templates.render("campaigns/list", model))
    }

    // MARK: A new campaign

    struct FormModel {
        let chrome: Chrome
        let name: String
        let segments: [Choice]
        let lists: [Choice]
        let templateChoices: [Choice]
        let subject: String
        let fromName: String
        let fromAddress: String
        let now: Bool
        let at: String
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let nameError: String?
        let audienceError: String?
        let templateError: String?
        let senderError: String?
        let atError: String?
    }

    struct Typed {
        var name = ""
        var segment = ""
        var list = ""
        var template = ""
        var subject = ""
        var fromName = ""
        var fromAddress = ""
        var when = "now"
        var at = ""
    }

    /// The library's segments, lists (with their confirmed subscribers) and templates, and its sender.
    private func choices(
        _ context: KringRequestContext
    ) async throws -> (
        segments: [Segment], lists: [(SubscriptionList, Int)], templates: [Template], settings: MailSettings
    ) {
        try await services.inTenant(.campaignsWrite, context) { tx, _, _ in
            let segments = try await Segments.list(after: nil, limit: 500, in: tx).filter { $0.subject == .b2c }
            let open = try await SubscriptionLists.list(after: nil, limit: 200, in: tx).filter { $0.archivedAt == nil }
            let counts = try await SubscriptionLists.subscriberCounts(of: open, in: tx)
            let lists = zip(open, counts).map { ($0, $1.confirmed) }
            return (
                segments.sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }, lists,
                try await Templates.list(after: nil, limit: 500, in: tx).sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending },
                try await MailSettings.load(in: tx)
            )
        }
    }

    func form(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(.campaignsWrite)
        let data = try await choices(context)
        var typed = Typed()
        typed.segment = request.uri.queryParameters["segment"].map(String.init) ?? ""
        typed.fromName = data.settings.fromName ?? ""
        typed.fromAddress = data.settings.fromAddress ?? ""
        return try render(staff, data: data, typed: typed, errors: FormErrors())
    }

    private func render(
        _ staff: Staff, data: (segments: [Segment], lists: [(SubscriptionList, Int)], templates: [Template], settings: MailSettings),
        typed: Typed, errors: FormErrors
    ) throws -> Response {
        let model = FormModel(
            chrome: staff.chrome("Nieuwe campagne", area: "/campagnes"), name: typed.name,
            segments: [Choice(value: "", label: "Iedereen op de lijst", selected: typed.segment.isEmpty)]
                + data.segments.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id.lower == typed.segment) },
            lists: [Choice(value: "", label: "Kies een verzendlijst", selected: typed.list.isEmpty)]
                + data.lists.map {
                    Choice(value: $0.0.id.lower, label: "\($0.0.name) (\(Dutch.number($0.1)) bevestigd)", selected: $0.0.id.lower == typed.list)
                },
            templateChoices: [Choice(value: "", label: "Kies een sjabloon", selected: typed.template.isEmpty)]
                + data.templates.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id.lower == typed.template) },
            subject: typed.subject, fromName: typed.fromName, fromAddress: typed.fromAddress, now: typed.when != "later", at: typed.at,
            errors: errors.items, hasErrors: errors.any, nameError: errors.message("name"), audienceError: errors.message("audience"),
            templateError: errors.message("template"), senderError: errors.message("sender"), atError: errors.message("at"))
        return WebResponse.html(try templates.render("campaigns/new", model), status: errors.any ? .unprocessableContent : .ok)
    }

    /// "2026-12-08T10:00" in the Netherlands, as a date-and-time field sends it.
    static func localMoment(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count == 2, let day = CalendarDate(String(parts[0])) else { return nil }
        let clock = parts[1].split(separator: ":").compactMap { Int($0) }
        guard clock.count >= 2, (0..<24).contains(clock[0]), (0..<60).contains(clock[1]) else { return nil }
        return Dutch.calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: clock[0], minute: clock[1]))
    }

    func create(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(.campaignsWrite)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        func text(_ name: String) -> String { (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let typed = Typed(
            name: text("name"), segment: text("segment"), list: text("list"), template: text("template"),
            subject: text("subject"), fromName: text("from_name"), fromAddress: text("from_address"), when: text("when"), at: text("at"))
        var errors = FormErrors()
        if typed.name.isEmpty { errors.add("name", "Geef de campagne een naam.") }
        // Marketing mail goes to a list's confirmed subscribers; a segment narrows them.
        let list = UUID(uuidString: typed.list)
        if list == nil { errors.add("audience", "Kies een verzendlijst.") }
        let segment = UUID(uuidString: typed.segment)
        if !typed.segment.isEmpty && segment == nil { errors.add("audience", "Kies het segment uit de lijst.") }
        let template = UUID(uuidString: typed.template)
        if template == nil { errors.add("template", "Kies een sjabloon.") }
        if !typed.fromAddress.isEmpty && EmailAddress(typed.fromAddress) == nil {
            errors.add("sender", "Vul een geldig afzenderadres in, bijvoorbeeld nieuws@bibliotheek.nl.")
        }
        var moment: Date?
        if typed.when == "later" {
            moment = Self.localMoment(typed.at)
            if moment == nil { errors.add("at", "Kies een datum en tijd om te verzenden.") }
            if let chosen = moment, chosen <= services.now() { errors.add("at", "Kies een moment in de toekomst, of verzend nu.") }
        }
        if !errors.any, let template {
            let draft = CampaignDraft(
                name: typed.name, listID: list, segmentID: segment, templateID: template, subject: typed.subject.isEmpty ? nil : typed.subject,
                fromName: typed.fromName.isEmpty ? nil : typed.fromName, fromAddress: typed.fromAddress.isEmpty ? nil : typed.fromAddress)
            do {
                let campaign = try await services.inTenant(.campaignsWrite, context) { tx, actor, now in
                    try await Campaigns.create(draft, by: actor, now: now, in: tx)
                }
                let when = moment.map { "?moment=\(Int($0.timeIntervalSince1970))" } ?? ""
                return WebResponse.redirect(Self.path(campaign.id) + when)
            } catch CampaignError.invalid(let problems) {
                for problem in problems {
                    switch problem.field {
                    case "name": errors.add("name", "Gebruik voor de naam hoogstens 200 tekens.")
                    case "segment_id", "list_id": errors.add("audience", "Kies de verzendlijst en het segment uit de lijst.")
                    case "template_id": errors.add("template", "Kies een sjabloon uit de lijst.")
                    case "from_address", "from_name", "reply_to": errors.add("sender", "Controleer de afzender: \(problem.message)")
                    default: errors.add("name", "Dit kon niet worden opgeslagen: \(problem.message)")
                    }
                }
            }
        }
        return try render(staff, data: try await choices(context), typed: typed, errors: errors)
    }

    // MARK: One campaign: summary, progress, report

    struct Figure: Sendable {
        let label: String
        let value: String
        let note: String
    }

    struct DayLine: Sendable {
        let day: String
        let opens: String
        let clicks: String
    }

    struct LinkLine: Sendable {
        let url: String
        let clicks: String
    }

    struct ShowModel {
        let chrome: Chrome
        let id: String
        let name: String
        let state: String
        let facts: [Fact]
        let isDraft: Bool
        let canSend: Bool
        let sendLabel: String
        let moment: String
        let audienceCount: String
        let emptyAudience: Bool
        let running: Bool
        let percent: Int
        let progressText: String
        let canPause: Bool
        let canResume: Bool
        let canCancel: Bool
        let hasReport: Bool
        let figures: [Figure]
        let funnel: String
        let funnelSummary: String
        let funnelRows: [Fact]
        let daysChart: String
        let days: [DayLine]
        let links: [LinkLine]
        let hasLinks: Bool
    }

    static func progressText(_ stats: CampaignStats) -> String {
        var text = "\(Dutch.number(stats.sent)) van \(Dutch.number(stats.recipients)) verzonden"
        if stats.failed > 0 { text += ", \(Dutch.number(stats.failed)) mislukt" }
        if stats.suppressed + stats.skipped > 0 {
            text += ", \(Dutch.number(stats.suppressed + stats.skipped)) niet verstuurd (afgemeld of geblokkeerd)"
        }
        return text
    }

    static func percentDone(_ stats: CampaignStats) -> Int {
        guard stats.recipients > 0 else { return 0 }
        return min(100, (stats.recipients - stats.pending) * 100 / stats.recipients)
    }

    func show(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try campaignID(context)
        let (campaign, stats, days, audience, names) = try await services.inTenant(
            .campaignsRead, context, record: id, "campaign", notFound: CampaignError.notFound
        ) { tx, _, now in
            let campaign = try await Campaigns.find(id: id, in: tx)
            let stats = try await Campaigns.stats(id: id, in: tx)
            let days = try await Campaigns.firstDays(of: campaign, in: tx)
            // Whom a draft would mail if it started now.
            let audience = campaign.state == .draft ? try await Campaigns.audienceCount(of: campaign, now: now, in: tx) : nil
            var names: [String: String] = [:]
            if let segment = campaign.segmentID { names["segment"] = try await Segments.find(id: segment, in: tx).name }
            if let list = campaign.listID { names["list"] = try await SubscriptionLists.find(id: list, in: tx).name }
            if let template = campaign.templateID { names["template"] = try await Templates.find(id: template, in: tx).name }
            return (campaign, stats, days, audience, names)
        }
        let moment = request.uri.queryParameters["moment"].flatMap { Double(String($0)) }.map { Date(timeIntervalSince1970: $0) }
            .flatMap { $0 > services.now() ? $0 : nil }
        var facts: [Fact] = []
        if let list = names["list"] {
            facts.append(Fact(label: "Doelgroep", value: "verzendlijst \(list)" + (names["segment"].map { ", alleen segment \($0)" } ?? "")))
        } else if let segment = names["segment"] {
            facts.append(Fact(label: "Doelgroep", value: "segment \(segment)"))
        }
        if let template = names["template"] {
            facts.append(Fact(label: "Sjabloon", value: template + (campaign.templateVersion.map { ", versie \($0)" } ?? "")))
        }
        if let subject = campaign.subject { facts.append(Fact(label: "Onderwerp", value: subject)) }
        let sender = [campaign.fromName, campaign.fromAddress.map { "<\($0)>" }].compactMap { $0 }.joined(separator: " ")
        facts.append(Fact(label: "Afzender", value: sender.isEmpty ? "de afzender van de bibliotheek (Beheer, Instellingen)" : sender))
        if let scheduled = campaign.scheduledAt, campaign.state == .scheduled {
            facts.append(Fact(label: "Gepland", value: Dutch.dateTime(scheduled)))
        }
        if let started = campaign.startedAt { facts.append(Fact(label: "Gestart", value: Dutch.dateTime(started))) }
        if let finished = campaign.finishedAt { facts.append(Fact(label: "Klaar", value: Dutch.dateTime(finished))) }
        let may = staff.may(.campaignsWrite)
        let running = [.scheduled, .sending, .paused].contains(campaign.state)
        let hasReport = campaign.startedAt != nil
        let delivered = stats.delivered
        let funnelBars = [
            Charts.Bar(label: "Verzonden", value: stats.sent), Charts.Bar(label: "Afgeleverd", value: delivered),
            Charts.Bar(label: "Geopend", value: stats.uniqueOpens), Charts.Bar(label: "Geklikt", value: stats.uniqueClicks),
            Charts.Bar(label: "Aangemeld", value: stats.conversions),
        ]
        let labels = (1...days.count).map { "dag \($0)" }
        let model = ShowModel(
            chrome: staff.chrome(
                campaign.name, area: "/campagnes", notice: request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] }),
            id: id.lower, name: campaign.name, state: Self.stateNames[campaign.state] ?? campaign.state.rawValue, facts: facts,
            isDraft: campaign.state == .draft, canSend: may && campaign.state == .draft,
            sendLabel: moment == nil ? "Nu verzenden" : "Inplannen voor \(Dutch.dateTime(moment ?? Date()))",
            moment: moment.map { String(Int($0.timeIntervalSince1970)) } ?? "",
            audienceCount: audience.map { $0 == 1 ? "1 ontvanger" : "\(Dutch.number($0)) ontvangers" } ?? "", emptyAudience: audience == 0,
            running: running, percent: Self.percentDone(stats), progressText: Self.progressText(stats),
            canPause: may && (campaign.state == .sending || campaign.state == .scheduled), canResume: may && campaign.state == .paused,
            canCancel: may && (campaign.state == .draft || running), hasReport: hasReport,
            figures: [
                Figure(label: "Ontvangers", value: Dutch.number(stats.recipients), note: "bij de start"),
                Figure(label: "Afgeleverd", value: Dutch.number(delivered), note: Dutch.percent(delivered, of: stats.sent) + " van verzonden"),
                Figure(
                    label: "Bounces", value: Dutch.number(stats.bouncedHard + stats.bouncedSoft),
                    note: "\(Dutch.number(stats.bouncedHard)) hard, \(Dutch.number(stats.bouncedSoft)) zacht"),
                Figure(
                    label: "Unieke opens", value: Dutch.number(stats.uniqueOpens),
                    note: Dutch.percent(stats.uniqueOpens, of: delivered) + " van afgeleverd"),
                Figure(
                    label: "Unieke kliks", value: Dutch.number(stats.uniqueClicks),
                    note: Dutch.percent(stats.uniqueClicks, of: delivered) + " van afgeleverd"),
                Figure(label: "Afmeldingen", value: Dutch.number(stats.unsubscribed), note: ""),
                Figure(label: "Klachten", value: Dutch.number(stats.complaints), note: "als spam gemeld"),
                Figure(
                    label: "Aanmeldingen", value: Dutch.number(stats.conversions), note: "voor een activiteit binnen \(stats.conversionDays) dagen"),
            ],
            funnel: Charts.funnel(funnelBars, title: "Trechter: verzonden, afgeleverd, geopend, geklikt, aangemeld"),
            funnelSummary:
                "Van \(Dutch.number(stats.sent)) verzonden mails werden er \(Dutch.number(stats.uniqueOpens)) geopend "
                + "(\(Dutch.percent(stats.uniqueOpens, of: delivered)) van afgeleverd) en in \(Dutch.number(stats.uniqueClicks)) werd geklikt; "
                + "\(Dutch.number(stats.conversions)) ontvangers meldden zich binnen \(stats.conversionDays) dagen aan voor een activiteit.",
            funnelRows: funnelBars.map { Fact(label: $0.label, value: Dutch.number($0.value)) },
            daysChart: Charts.days(
                [
                    Charts.Series(name: "Eerste keer geopend", style: "chart-a", values: days.map(\.opens)),
                    Charts.Series(name: "Eerste klik", style: "chart-b", values: days.map(\.clicks)),
                ], labels: labels, title: "Opens en kliks per dag in de eerste week"),
            days: days.enumerated().map {
                DayLine(day: labels[$0.offset], opens: Dutch.number($0.element.opens), clicks: Dutch.number($0.element.clicks))
            },
            links: stats.links.map { LinkLine(url: $0.url, clicks: Dutch.number($0.uniqueClicks)) }, hasLinks: !stats.links.isEmpty)
        return WebResponse.html(try templates.render("campaigns/show", model))
    }

    static let notices: [String: String] = [
        "verzenden": "De campagne wordt verzonden.", "gepland": "De campagne is ingepland.", "pauzeren": "De campagne is gepauzeerd.",
        "hervatten": "De campagne gaat verder.", "annuleren": "De campagne is geannuleerd; wat nog niet verzonden was, gaat niet meer weg.",
        "status": "Dat kan nu niet meer: de campagne is intussen verder.", "onvolledig": "De campagne mist nog een sjabloon of een doelgroep.",
    ]

    /// The progress as the page's script polls it: percent, the words, and whether the campaign is done.
    func progress(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try campaignID(context)
        let (campaign, stats) = try await services.inTenant(.campaignsRead, context, record: id, "campaign", notFound: CampaignError.notFound) {
            tx, _, _ in
            (try await Campaigns.find(id: id, in: tx), try await Campaigns.stats(id: id, in: tx))
        }
        struct State: Encodable {
            let percent: Int
            let text: String
            let finished: Bool
        }
        let state = State(
            percent: Self.percentDone(stats), text: Self.progressText(stats) + (campaign.state == .paused ? " (gepauzeerd)" : ""),
            finished: campaign.state == .sent || campaign.state == .cancelled)
        return try WebResponse.json(state)
    }

    /// Verzenden (now or at the chosen moment), pauzeren, hervatten, annuleren.
    func act(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try campaignID(context)
        let action = context.parameters.get("action") ?? ""
        guard ["verzenden", "pauzeren", "hervatten", "annuleren"].contains(action) else { throw HTTPError(.notFound) }
        _ = try context.requireTenant(.campaignsWrite)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let moment = form.value("moment").flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
        var done = action
        do {
            let campaign = try await services.inTenant(.campaignsWrite, context, record: id, "campaign", notFound: CampaignError.notFound) {
                tx, actor, now in
                switch action {
                case "verzenden": return try await Campaigns.schedule(id: id, at: moment, by: actor, now: now, in: tx)
                case "pauzeren": return try await Campaigns.transition(id: id, to: "pause", by: actor, now: now, in: tx)
                case "hervatten": return try await Campaigns.transition(id: id, to: "resume", by: actor, now: now, in: tx)
                default: return try await Campaigns.transition(id: id, to: "cancel", by: actor, now: now, in: tx)
                }
            }
            if action == "verzenden" && campaign.state == .scheduled { done = "gepland" }
        } catch CampaignError.wrongState {
            done = "status"
        } catch CampaignError.invalid {
            done = "onvolledig"
        }
        // The journeys page asks to come back to it; only a page of this area.
        let back = form.value("terug").flatMap { $0.hasPrefix("/campagnes/") && !$0.contains("//") && !$0.contains("?") ? $0 : nil }
        return WebResponse.redirect("\(back ?? Self.path(id))?gedaan=\(done)")
    }
}
