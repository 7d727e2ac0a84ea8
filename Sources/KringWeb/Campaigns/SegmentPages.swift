import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringInsight
import KringServer

/// Segmenten: the library's saved segments with "count now", and the builder. The builder is a form with the rule as
/// JSON and two buttons, Tellen and Opslaan, so it works without the script; the script draws the rule as nested
/// groups over the field catalogue and asks for the count (the same preview as the API) as it is being built.
struct SegmentPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes/segmenten") { request, context in try await list(request, context) }
        router.get("campagnes/segmenten/nieuw") { request, context in try await builder(request, context, id: nil) }
        router.post("campagnes/segmenten/nieuw") { request, context in try await submit(request, context, id: nil) }
        router.get("campagnes/segmenten/:id") { request, context in try await builder(request, context, id: try segmentID(context)) }
        router.post("campagnes/segmenten/:id") { request, context in try await submit(request, context, id: try segmentID(context)) }
    }

    static let listLimit = 200
    /// Where a new segment starts: the library's active members.
    static let startingRule = SegmentRule.all([.condition(SegmentCondition(field: "membership_status", op: "=", value: "active"))])

    private func segmentID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw SegmentError.notFound }
        return id
    }

    static func countText(_ count: Int) -> String {
        count == 1 ? "1 klant" : "\(Dutch.number(count)) klanten"
    }

    // MARK: The list

    struct Row: Sendable {
        let id: String
        let href: String
        let name: String
        let version: String
        let updated: String
        let countHref: String
        /// The count just asked for; nil shows the "Nu tellen" link (an empty string would still open the section).
        let count: String?
    }

    struct ListModel {
        let chrome: Chrome
        let segmentsTab = true
        let rows: [Row]
        let none: Bool
        let canCreate: Bool
        let more: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let counting = request.uri.queryParameters["tellen"].flatMap { UUID(uuidString: String($0)) }
        let (segments, counted) = try await services.inTenant(.segmentsRead, context) { tx, _, now in
            let segments = try await Segments.list(after: nil, limit: Self.listLimit + 1, in: tx).filter { $0.subject == .b2c }
            var counted: SegmentCount?
            if let counting, segments.contains(where: { $0.id == counting }) {
                counted = try await Segments.count(id: counting, now: now, in: tx)
            }
            return (segments, counted)
        }
        let rows = segments.prefix(Self.listLimit).sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }.map { segment in
            Row(
                id: segment.id.lower, href: "/campagnes/segmenten/\(segment.id.lower)", name: segment.name, version: "versie \(segment.version)",
                updated: Dutch.date(segment.updatedAt), countHref: "/campagnes/segmenten?tellen=\(segment.id.lower)#s-\(segment.id.lower)",
                count: counted?.id == segment.id ? counted.map { "\(Self.countText($0.count)) nu" } : nil)
        }
        let model = ListModel(
            chrome: staff.chrome("Segmenten", area: "/campagnes"), rows: rows, none: rows.isEmpty, canCreate: staff.may(.segmentsWrite),
            more: segments.count > Self.listLimit)
        return WebResponse.html(try templates.render("campaigns/segments", model))
    }

    // MARK: The builder

    struct Sample: Sendable, Encodable {
        let name: String
        let href: String
    }

    struct NodeError: Sendable, Encodable {
        let path: String
        let message: String
    }

    /// What the live count answers, and what the page shows after Tellen.
    struct CountResult: Sendable, Encodable {
        let count: Int?
        let text: String
        let sample: [Sample]
        let errors: [NodeError]
    }

    struct VersionLine: Sendable {
        let label: String
        let href: String
        let when: String
        let by: String
        let current: Bool
    }

    struct BuilderModel {
        let chrome: Chrome
        let action: String
        let heading: String
        let name: String
        let nameError: String?
        let version: String
        let rule: String
        let catalogue: String
        let canSave: Bool
        let canSample: Bool
        let counted: Bool
        let countText: String
        let sample: [Sample]
        let hasSample: Bool
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let ruleErrors: [NodeError]
        let versions: [VersionLine]
        let hasVersions: Bool
        let olderVersion: String?
        let campaignHref: String?
    }

    /// The branches, consent topics and activity categories the builder offers.
    private func builderCatalogue(in tx: TenantTransaction) async throws -> SegmentCatalogue {
        var categories: [String] = []
        for try await category in try await tx.query(
            "SELECT DISTINCT category FROM activities WHERE category IS NOT NULL AND category <> '' ORDER BY category LIMIT 200"
        ).decode(String.self) {
            categories.append(category)
        }
        return SegmentCatalogue.make(
            branches: try await Branches.list(in: tx), topics: try await CustomerPages.topics(in: tx), categories: categories,
            mosaic: try await MosaicReports.codes(in: tx))
    }

    func builder(_ request: Request, _ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let asked = request.uri.queryParameters["versie"].flatMap { Int(String($0)) }
        let (segment, versions, catalogue) = try await services.inTenant(
            .segmentsRead, context, record: id ?? UUID(), "segment", notFound: SegmentError.notFound
        ) { tx, _, _ in
            guard let id else { return (Segment?.none, [Segments.Version](), try await builderCatalogue(in: tx)) }
            let current = try await Segments.find(id: id, in: tx)
            var shown = current
            if let asked { shown = try await Segments.find(id: id, version: asked, in: tx) }
            return (shown, try await Segments.versions(id: id, in: tx), try await builderCatalogue(in: tx))
        }
        let current = versions.first?.version ?? segment?.version ?? 1
        var name = segment?.name ?? ""
        var rule = segment?.rule ?? Self.startingRule
        if id == nil, let months = request.uri.queryParameters["stil"].flatMap({ Int(String($0)) }), (1...60).contains(months) {
            // From Stille leden: active members who have not borrowed for that long, for a win-back campaign.
            name = "Stille leden: \(months) maanden niet geleend"
            rule = .all([
                .condition(SegmentCondition(field: "membership_status", op: "=", value: "active")),
                .condition(SegmentCondition(field: "days_since_last_loan", op: ">", value: .number(Double(QuietMembers.days(months: months))))),
            ])
        } else if id == nil, let (field, option) = Self.mosaicStart(request, catalogue: catalogue) {
            // From the Mosaic report: the library's active members in that (sub)segment.
            name = "Mosaic \(option.label)"
            rule = .all([
                .condition(SegmentCondition(field: "membership_status", op: "=", value: "active")),
                .condition(SegmentCondition(field: field, op: "=", value: .string(option.value))),
            ])
        }
        return try await render(
            staff, id: id, name: name, rule: try WebResponse.jsonText(rule), version: current,
            shownVersion: segment?.version, versions: versions, catalogue: catalogue, result: nil, errors: FormErrors(),
            notice: request.uri.queryParameters["gedaan"] == "opgeslagen" ? "Het segment is opgeslagen." : nil)
    }

    /// `?mosaic_segment=A` or `?mosaic_subsegment=A01`: a code of the current delivery, as the catalogue offers it.
    static func mosaicStart(_ request: Request, catalogue: SegmentCatalogue) -> (String, SegmentCatalogue.Option)? {
        for field in ["mosaic_subsegment", "mosaic_segment"] {
            guard let code = request.uri.queryParameters[Substring(field)].map(String.init) else { continue }
            if let option = catalogue.fields.first(where: { $0.name == field })?.options.first(where: { $0.value == code }) {
                return (field, option)
            }
        }
        return nil
    }

    private func render(
        _ staff: Staff, id: UUID?, name: String, rule: String, version: Int, shownVersion: Int?, versions: [Segments.Version],
        catalogue: SegmentCatalogue, result: CountResult?, errors: FormErrors, notice: String? = nil
    ) async throws -> Response {
        let people = try await StaffNames.names(versions.compactMap(\.createdBy), tenant: staff.tenant?.id, services: services)
        let heading = id == nil ? "Nieuw segment" : name
        var summary = errors.items
        for error in result?.errors ?? [] { summary.append(.init(field: "regel", message: "\(Self.nodeLabel(error.path)): \(error.message)")) }
        let model = BuilderModel(
            chrome: staff.chrome(heading, area: "/campagnes", notice: notice),
            action: id.map { "/campagnes/segmenten/\($0.lower)" } ?? "/campagnes/segmenten/nieuw", heading: heading,
            name: name, nameError: errors.message("name"), version: String(version), rule: rule, catalogue: try WebResponse.jsonText(catalogue),
            canSave: staff.may(.segmentsWrite), canSample: staff.may(.segmentsWrite), counted: result?.count != nil,
            countText: result?.text ?? "Nog niet geteld.", sample: result?.sample ?? [], hasSample: !(result?.sample.isEmpty ?? true),
            errors: summary,
            hasErrors: !summary.isEmpty, ruleErrors: result?.errors ?? [],
            versions: versions.map { entry in
                VersionLine(
                    label: "Versie \(entry.version)", href: "/campagnes/segmenten/\(id?.lower ?? "")?versie=\(entry.version)",
                    when: Dutch.dateTime(entry.createdAt), by: entry.createdBy.flatMap { people[$0] } ?? "onbekend",
                    current: entry.version == (shownVersion ?? version))
            }, hasVersions: versions.count > 1,
            olderVersion: shownVersion.flatMap { $0 < version ? "U bekijkt versie \($0). Opslaan maakt er versie \(version + 1) van." : nil },
            campaignHref: id.flatMap { staff.may(.campaignsWrite) ? "/campagnes/nieuw?segment=\($0.lower)" : nil })
        return WebResponse.html(
            try templates.render("campaigns/segment", model), status: errors.any || !(result?.errors.isEmpty ?? true) ? .unprocessableContent : .ok)
    }

    /// "rule.all[1].any[0].value" → "Voorwaarde 2.1".
    static func nodeLabel(_ path: String) -> String {
        let numbers = path.matches(of: /\[(\d+)\]/).compactMap { Int($0.output.1) }.map { String($0 + 1) }
        return numbers.isEmpty ? "De regel" : "Voorwaarde \(numbers.joined(separator: "."))"
    }

    /// Tellen (count, with the sample for those who build segments) or Opslaan (save a new segment or version).
    func submit(_ request: Request, _ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let ruleText = form.value("rule") ?? ""
        let name = (form.value("name") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let wantsJSON = WebResponse.wantsJSON(request)
        let saving = form.value("action") == "save"
        if saving { _ = try context.requireTenant(.segmentsWrite) }
        // The rule as JSON; a tree that is not even the right shape is one message for the whole rule.
        let rule: SegmentRule?
        do {
            rule = try JSONDecoder().decode(SegmentRule.self, from: Data(ruleText.utf8))
        } catch {
            rule = nil
        }
        let withSample = staff.may(.segmentsWrite)
        var result: CountResult
        func invalid(_ problems: [FieldError]) -> CountResult {
            CountResult(
                count: nil, text: "Nog niet te tellen: een voorwaarde is niet compleet.", sample: [],
                errors: problems.map { NodeError(path: $0.field, message: SegmentCatalogue.dutch($0.message)) })
        }
        if let rule, saving {
            // Saving checks the rule by compiling it; the count comes with the page after the save.
            do {
                _ = try SegmentCompiler(today: CalendarDate(services.now()), subject: .b2c).compile(rule)
                result = CountResult(count: nil, text: "Nog niet geteld.", sample: [], errors: [])
            } catch SegmentError.invalid(let problems) {
                result = invalid(problems)
            }
        } else if let rule {
            do {
                let preview = try await services.inTenant(
                    .segmentsRead, context, record: id ?? UUID(), "segment", notFound: SegmentError.notFound
                ) { tx, actor, now in
                    // A segment of this library only, also when the page only counts.
                    if let id { _ = try await Segments.find(id: id, in: tx) }
                    return try await Segments.preview(rule, subject: .b2c, withSample: withSample, by: actor, now: now, in: tx)
                }
                result = CountResult(
                    count: preview.count, text: Self.countText(preview.count),
                    sample: (preview.sample ?? []).map { Sample(name: $0.name.isEmpty ? "(zonder naam)" : $0.name, href: "/klanten/\($0.id.lower)") },
                    errors: [])
            } catch SegmentError.invalid(let problems) {
                result = invalid(problems)
            }
        } else {
            result = CountResult(
                count: nil, text: "Nog niet te tellen.", sample: [],
                errors: [NodeError(path: "rule", message: "De regel is geen geldige opbouw van groepen en voorwaarden.")])
        }
        if wantsJSON && !saving {
            return try WebResponse.json(result)
        }
        var errors = FormErrors()
        if saving, let rule, result.errors.isEmpty {
            if name.isEmpty { errors.add("name", "Geef het segment een naam.") }
            if name.count > 200 { errors.add("name", "Gebruik voor de naam hoogstens 200 tekens.") }
            if !errors.any {
                let draft = SegmentDraft(name: name, subject: "b2c", rule: rule)
                let expected = Int(form.value("version") ?? "") ?? 0
                do {
                    let saved = try await services.inTenant(
                        .segmentsWrite, context, record: id ?? UUID(), "segment", notFound: SegmentError.notFound
                    ) { tx, actor, now in
                        if let id {
                            try await Segments.replace(id: id, with: draft, expectedVersion: expected, by: actor, now: now, in: tx)
                        } else {
                            try await Segments.create(draft, by: actor, now: now, in: tx)
                        }
                    }
                    return WebResponse.redirect("/campagnes/segmenten/\(saved.id.lower)?gedaan=opgeslagen")
                } catch SegmentError.versionMismatch(let current) {
                    errors.add(
                        "name",
                        "Iemand anders heeft dit segment intussen opgeslagen (nu versie \(current)). Open het opnieuw en breng uw wijziging aan.")
                }
            }
        }
        let (versions, catalogue) = try await services.inTenant(
            .segmentsRead, context, record: id ?? UUID(), "segment", notFound: SegmentError.notFound
        ) { tx, _, _ in
            var versions: [Segments.Version] = []
            if let id {
                _ = try await Segments.find(id: id, in: tx)
                versions = try await Segments.versions(id: id, in: tx)
            }
            return (versions, try await builderCatalogue(in: tx))
        }
        return try await render(
            staff, id: id, name: name, rule: ruleText, version: Int(form.value("version") ?? "") ?? versions.first?.version ?? 1, shownVersion: nil,
            versions: versions, catalogue: catalogue, result: result, errors: errors)
    }
}
