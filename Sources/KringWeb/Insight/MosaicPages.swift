import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringInsight
import KringServer

/// Inzicht › Mosaic: the two standard reports on the library's own data, the moment Probiblio has loaded a delivery.
/// Leden: per segment (or, drilled down, per subsegment) the inhabitants of the service area, the members living
/// there, members per 1,000 inhabitants and the index against the library's average; for the whole library, one
/// municipality or one favourite branch. Inwoners: the area's make-up against the province or one municipality.
/// Both with index bars around 100, a print stylesheet and a CSV download. Counts only: no person is shown.
struct MosaicPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("inzicht") { _, context in
            _ = try context.requireTenant(.reportsRead)
            return WebResponse.redirect("/inzicht/kerncijfers")
        }
        router.get("inzicht/mosaic") { request, context in try await page(request, context, csv: false) }
        router.get("inzicht/mosaic.csv") { request, context in try await page(request, context, csv: true) }
    }

    /// What the page was asked: the report, the scope and the level.
    struct Question {
        enum Kind: String {
            case members = "leden"
            case inhabitants = "inwoners"
            case activities = "activiteiten"
        }

        var kind: Kind
        var municipality: String?
        var branchID: UUID?
        var segment: String?
        var benchmark: String?
        var category: String?

        var inhabitants: Bool { kind == .inhabitants }

        init(_ request: Request) {
            let query = request.uri.queryParameters
            func text(_ name: String) -> String? { query[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            kind = text("rapport").flatMap(Kind.init(rawValue:)) ?? .members
            municipality = text("gemeente")
            branchID = text("vestiging").flatMap(UUID.init(uuidString:))
            segment = text("segment")
            benchmark = text("vergelijk")
            category = text("categorie")
        }

        /// The query string of this question with one part changed.
        func link(segment: String?? = .none, csv: Bool = false) -> String {
            var parts: [(String, String)] = [("rapport", kind.rawValue)]
            if let municipality { parts.append(("gemeente", municipality)) }
            if let branchID, !inhabitants { parts.append(("vestiging", branchID.lower)) }
            if let benchmark, inhabitants { parts.append(("vergelijk", benchmark)) }
            if let category, kind == .activities { parts.append(("categorie", category)) }
            let chosen: String? = segment ?? self.segment
            if let chosen { parts.append(("segment", chosen)) }
            let query = parts.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            return "/inzicht/mosaic\(csv ? ".csv" : "")?\(query)"
        }
    }

    struct Row: Sendable {
        let code: String
        let name: String
        let href: String?
        let inhabitants: String
        let members: String
        let active: String
        let youth: String
        let guests: String
        let share: String
        let penetration: String
        let index: String
        var registrations = ""
        var participants = ""
        var attended = ""
        /// The segment builder, started on this segment or subsegment (for who may build segments).
        var segmentHref: String? = nil
    }

    /// A subsegment's description and the supplier's characteristics, one cell per column of `characteristicColumns`.
    struct Characteristic: Sendable {
        let code: String
        let name: String
        let description: String
        let values: [String]
    }

    struct PageModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let hasDelivery: Bool
        let delivery: String
        let inhabitantsReport: Bool
        let municipalities: [Choice]
        let branches: [Choice]
        let benchmarks: [Choice]
        let scope: String
        let segmentName: String?
        let backHref: String
        let rows: [Row]
        let total: Row?
        let chart: String
        let outside: String?
        let characteristics: [Characteristic]
        let characteristicColumns: [String]
        let hasCharacteristics: Bool
        let csvHref: String
        let noArea: Bool
        let areaTabs = FigurePages.tabs("/inzicht/mosaic")
        var canMakeSegments = false
        var activitiesReport = false
        var categories: [Choice] = []
        var membersReport = false
        /// The report's name in the page's links: leden, inwoners or activiteiten.
        var report = "leden"
    }

    private static func number(_ value: Int) -> String { Dutch.number(value) }

    private static func decimal(_ value: Double?) -> String { Dutch.decimal(value) }

    /// Where the report looks: a branch's municipality (report 2 only), else a chosen municipality of the service area,
    /// else the whole area.
    struct Scope {
        let municipalities: [String]
        let text: String
        let branch: (id: UUID, name: String, municipality: String)?

        init(_ question: Question, area: [String], branches: [(id: UUID, name: String, municipality: String)]) {
            branch = question.inhabitants ? nil : branches.first { $0.id == question.branchID }
            if question.kind == .activities {
                // Where the participants live; the branch is where the activities were held.
                municipalities = question.municipality.flatMap { area.contains($0) ? [$0] : nil } ?? area
                let living = municipalities == area ? "wonend in het werkgebied" : "wonend in \(municipalities.joined())"
                let held = branch.map { " bij vestiging \($0.name)" } ?? ""
                let kind = question.category.map { " in de categorie ‘\($0)’" } ?? ""
                text = "Aanmeldingen voor activiteiten\(kind)\(held) in de afgelopen 12 maanden, van deelnemers \(living)"
            } else if let branch {
                municipalities = [branch.municipality]
                text = "Vestiging \(branch.name) (leden met deze voorkeursvestiging, wonend in \(branch.municipality))"
            } else if let chosen = question.municipality, area.contains(chosen) {
                municipalities = [chosen]
                text = "Gemeente \(chosen)"
            } else {
                municipalities = area
                text = area.isEmpty ? "" : "Het werkgebied: \(area.joined(separator: ", "))"
            }
        }
    }

    enum Report {
        case inhabitants(MosaicInhabitantsReport)
        case members(MosaicMembersReport)
        case activities(MosaicActivitiesReport)
    }

    /// Everything the page reads, in one transaction of the library.
    struct Read {
        let delivery: MosaicDelivery?
        let area: [String]
        let branches: [(id: UUID, name: String, municipality: String)]
        let scope: Scope
        let report: Report?
        let details: [MosaicSubsegmentDetails]
        var categories: [String] = []
    }

    func page(_ request: Request, _ context: KringRequestContext, csv: Bool) async throws -> Response {
        let staff = try Staff(context)
        let question = Question(request)
        let read = try await services.inTenant(.reportsRead, context) { tx, _, now -> Read in
            let delivery = try await MosaicReports.currentDelivery(in: tx)
            let area = try await MosaicReports.serviceArea(in: tx)
            let branches = try await Branches.list(in: tx).map { (id: $0.id, name: $0.name, municipality: $0.municipality) }
            let scope = Scope(question, area: area, branches: branches)
            guard let delivery else { return Read(delivery: nil, area: area, branches: branches, scope: scope, report: nil, details: []) }
            let report: Report
            var categories: [String] = []
            if question.kind == .activities {
                categories = try await tx.query("SELECT DISTINCT category FROM activities WHERE category <> '' ORDER BY 1 LIMIT 200")
                    .decode(String.self).reduce(into: []) { $0.append($1) }
                report = .activities(
                    try await MosaicReports.activities(
                        municipalities: scope.municipalities, branchID: scope.branch?.id, category: question.category,
                        period: now.addingTimeInterval(-365 * 86_400)..<now, delivery: delivery, in: tx))
            } else if question.inhabitants {
                let benchmark = question.benchmark.flatMap { area.contains($0) ? $0 : nil }
                report = .inhabitants(
                    try await MosaicReports.inhabitants(municipalities: scope.municipalities, benchmark: benchmark, delivery: delivery, in: tx))
            } else {
                report = .members(
                    try await MosaicReports.membersAgainstArea(
                        municipalities: scope.municipalities, branchID: scope.branch?.id, delivery: delivery, in: tx))
            }
            let details =
                csv
                ? []
                : try await question.segment.asyncMap { try await MosaicReports.subsegmentDetails(ofSegment: $0, delivery: delivery, in: tx) }
                    ?? []
            return Read(
                delivery: delivery, area: area, branches: branches, scope: scope, report: report, details: details, categories: categories)
        }
        let tabs = [
            AdminPages.Tab(label: "Leden en inwoners", href: "/inzicht/mosaic?rapport=leden", current: question.kind == .members),
            AdminPages.Tab(label: "Inwoners van het werkgebied", href: "/inzicht/mosaic?rapport=inwoners", current: question.inhabitants),
            AdminPages.Tab(label: "Activiteiten", href: "/inzicht/mosaic?rapport=activiteiten", current: question.kind == .activities),
        ]
        guard let delivery = read.delivery, let report = read.report else {
            if csv {
                // No delivery, no rows: the header alone says what the file would hold.
                var empty = CSVDownload()
                empty.row(["code", "naam", "inwoners"])
                return empty.response(filename: "mosaic.csv")
            }
            return try render(
                PageModel(
                    chrome: staff.chrome("Mosaic", area: "/inzicht"), tabs: tabs, hasDelivery: false, delivery: "", inhabitantsReport: false,
                    municipalities: [], branches: [], benchmarks: [], scope: "", segmentName: nil, backHref: "", rows: [], total: nil,
                    chart: "", outside: nil, characteristics: [], characteristicColumns: [], hasCharacteristics: false, csvHref: "",
                    noArea: false))
        }
        let (area, branches, branch) = (read.area, read.branches, read.scope.branch)
        let segmentCode = question.segment
        var rows: [Row] = []
        var total: Row?
        var bars: [Charts.IndexBar] = []
        var outside: String?
        var csvFile = CSVDownload()
        var segmentName: String?
        switch report {
        case .inhabitants(let report):
            let lines = segmentCode.map { code in report.subsegments.filter { $0.segmentCode == code } } ?? report.segments
            segmentName = segmentCode.flatMap { code in report.segments.first { $0.code == code }?.name }
            csvFile.row(["code", "naam", "inwoners", "huishoudens", "aandeel werkgebied (%)", "inwoners vergelijking", "index"])
            for line in lines {
                let index = report.index(line)
                rows.append(
                    Row(
                        code: line.code, name: line.name, href: segmentCode == nil ? question.link(segment: line.code) : nil,
                        inhabitants: Self.number(line.inhabitants), members: "", active: "", youth: "", guests: "",
                        share: Self.decimal(report.share(line).map { $0 * 100 }), penetration: "", index: index.map(String.init) ?? "–"))
                bars.append(Charts.IndexBar(label: "\(line.code) \(line.name)", index: index))
                csvFile.raw(
                    "\(CSVDownload.field(line.code));\(CSVDownload.field(line.name));\(line.inhabitants);\(line.households);"
                        + "\(Self.decimal(report.share(line).map { $0 * 100 }));\(line.benchmarkInhabitants);\(index.map(String.init) ?? "")")
            }
            total = Row(
                code: "", name: segmentCode == nil ? "Totaal" : "Hele gebied (alle segmenten)", href: nil,
                inhabitants: Self.number(report.total.inhabitants), members: "", active: "", youth: "",
                guests: "", share: "100,0", penetration: "", index: "100")
        case .members(let report):
            let lines = segmentCode.map { code in report.subsegments.filter { $0.segmentCode == code } } ?? report.segments
            segmentName = segmentCode.flatMap { code in report.segments.first { $0.code == code }?.name }
            csvFile.row([
                "code", "naam", "inwoners", "huishoudens", "leden", "actieve leden", "jeugdleden", "activiteitgasten", "leden per 1000 inwoners",
                "index",
            ])
            for line in lines {
                let index = report.index(line)
                rows.append(
                    Row(
                        code: line.code, name: line.name, href: segmentCode == nil ? question.link(segment: line.code) : nil,
                        inhabitants: Self.number(line.inhabitants), members: Self.number(line.members), active: Self.number(line.activeMembers),
                        youth: Self.number(line.youthMembers), guests: Self.number(line.guests), share: "",
                        penetration: Self.decimal(line.penetration), index: index.map(String.init) ?? "–"))
                bars.append(Charts.IndexBar(label: "\(line.code) \(line.name)", index: index))
                csvFile.raw(
                    "\(CSVDownload.field(line.code));\(CSVDownload.field(line.name));\(line.inhabitants);\(line.households);\(line.members);"
                        + "\(line.activeMembers);\(line.youthMembers);\(line.guests);\(Self.decimal(line.penetration));\(index.map(String.init) ?? "")"
                )
            }
            let all = report.total
            total = Row(
                code: "", name: segmentCode == nil ? "Totaal" : "Hele gebied (alle segmenten)", href: nil, inhabitants: Self.number(all.inhabitants),
                members: Self.number(all.members),
                active: Self.number(all.activeMembers), youth: Self.number(all.youthMembers), guests: Self.number(all.guests), share: "",
                penetration: Self.decimal(all.penetration), index: "100")
            if report.membersOutside > 0 {
                outside =
                    "\(Self.number(report.membersOutside)) \(report.membersOutside == 1 ? "lid woont" : "leden wonen") buiten dit gebied of "
                    + "\(report.membersOutside == 1 ? "heeft" : "hebben") een postcode die niet in de Mosaic-gegevens staat; zij tellen hier niet mee."
            }
        case .activities(let report):
            let lines = segmentCode.map { code in report.subsegments.filter { $0.segmentCode == code } } ?? report.segments
            segmentName = segmentCode.flatMap { code in report.segments.first { $0.code == code }?.name }
            csvFile.row(["code", "naam", "inwoners", "aanmeldingen", "deelnemers", "aanwezig", "deelnemers per 1000 inwoners", "index"])
            for line in lines {
                let index = report.index(line)
                let reach = line.inhabitants > 0 ? Double(line.participants) * 1000 / Double(line.inhabitants) : nil
                rows.append(
                    Row(
                        code: line.code, name: line.name, href: segmentCode == nil ? question.link(segment: line.code) : nil,
                        inhabitants: Self.number(line.inhabitants), members: "", active: "", youth: "", guests: "", share: "",
                        penetration: Self.decimal(reach), index: index.map(String.init) ?? "–", registrations: Self.number(line.registrations),
                        participants: Self.number(line.participants), attended: Self.number(line.attended)))
                bars.append(Charts.IndexBar(label: "\(line.code) \(line.name)", index: index))
                csvFile.raw(
                    "\(CSVDownload.field(line.code));\(CSVDownload.field(line.name));\(line.inhabitants);\(line.registrations);"
                        + "\(line.participants);\(line.attended);\(Self.decimal(reach));\(index.map(String.init) ?? "")")
            }
            let all = report.total
            total = Row(
                code: "", name: segmentCode == nil ? "Totaal" : "Hele gebied (alle segmenten)", href: nil, inhabitants: Self.number(all.inhabitants),
                members: "", active: "", youth: "", guests: "", share: "",
                penetration: Self.decimal(all.inhabitants > 0 ? Double(all.participants) * 1000 / Double(all.inhabitants) : nil), index: "100",
                registrations: Self.number(all.registrations), participants: Self.number(all.participants), attended: Self.number(all.attended))
            if report.registrationsOutside > 0 {
                outside =
                    "\(Self.number(report.registrationsOutside)) \(report.registrationsOutside == 1 ? "aanmelding is" : "aanmeldingen zijn") van "
                    + "deelnemers die buiten dit gebied wonen of van wie de postcode niet in de Mosaic-gegevens staat; zij tellen hier niet mee."
            }
        }
        if staff.may(.segmentsWrite) {
            let field = segmentCode == nil ? "mosaic_segment" : "mosaic_subsegment"
            for index in rows.indices {
                let code = rows[index].code.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                rows[index].segmentHref = "/campagnes/segmenten/nieuw?\(field)=\(code)"
            }
        }
        if csv {
            let name = "mosaic-\(question.kind.rawValue)"
            return csvFile.response(filename: "\(name)\(segmentCode.map { "-\($0.lowercased().filter(\.isLetter))" } ?? "").csv")
        }
        let characteristicColumns = Array(Set(read.details.flatMap { $0.characteristics.keys })).sorted()
        let characteristics = read.details.map { details in
            Characteristic(
                code: details.code, name: details.name, description: details.description,
                values: characteristicColumns.map { details.characteristics[$0] ?? "" })
        }
        let title =
            switch question.kind {
            case .inhabitants: "Inwoners van het werkgebied naar Mosaic-segment"
            case .members: "Leden en inwoners naar Mosaic-segment"
            case .activities: "Deelnemers aan activiteiten naar Mosaic-segment"
            }
        let model = PageModel(
            chrome: staff.chrome("Mosaic", area: "/inzicht"), tabs: tabs, hasDelivery: true,
            delivery:
                "Mosaic-levering ‘\(delivery.label)’, geladen op \(Dutch.date(delivery.loadedAt)) (\(Self.number(delivery.postcodes)) postcodes)",
            inhabitantsReport: question.inhabitants,
            municipalities: [Choice(value: "", label: "Het hele werkgebied", selected: question.municipality == nil || branch != nil)]
                + area.map { Choice(value: $0, label: $0, selected: branch == nil && $0 == question.municipality) },
            branches: [Choice(value: "", label: "Alle vestigingen", selected: branch == nil)]
                + branches.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id == branch?.id) },
            benchmarks: [Choice(value: "", label: "De provincie (alle geladen postcodes)", selected: question.benchmark == nil)]
                + area.map { Choice(value: $0, label: "Gemeente \($0)", selected: $0 == question.benchmark) },
            scope: read.scope.text, segmentName: segmentName, backHref: question.link(segment: .some(nil)), rows: rows, total: total,
            chart: Charts.indexBars(bars, title: "\(title): index per \(segmentCode == nil ? "segment" : "subsegment"), 100 is gemiddeld"),
            outside: outside, characteristics: characteristics, characteristicColumns: characteristicColumns,
            hasCharacteristics: !characteristics.isEmpty, csvHref: question.link(csv: true), noArea: area.isEmpty,
            canMakeSegments: staff.may(.segmentsWrite), activitiesReport: question.kind == .activities,
            categories: [Choice(value: "", label: "Alle categorieën", selected: question.category == nil)]
                + read.categories.map { Choice(value: $0, label: $0, selected: $0 == question.category) },
            membersReport: question.kind == .members, report: question.kind.rawValue)
        return try render(model)
    }

    private func render(_ model: PageModel) throws -> Response {
        WebResponse.html(try templates.render("insight/mosaic", model))
    }
}
