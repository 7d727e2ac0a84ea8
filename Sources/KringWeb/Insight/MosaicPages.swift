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
            return WebResponse.redirect("/inzicht/mosaic")
        }
        router.get("inzicht/mosaic") { request, context in try await page(request, context, csv: false) }
        router.get("inzicht/mosaic.csv") { request, context in try await page(request, context, csv: true) }
    }

    /// What the page was asked: the report, the scope and the level.
    struct Question {
        var inhabitants: Bool
        var municipality: String?
        var branchID: UUID?
        var segment: String?
        var benchmark: String?

        init(_ request: Request) {
            let query = request.uri.queryParameters
            func text(_ name: String) -> String? { query[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            inhabitants = text("rapport") == "inwoners"
            municipality = text("gemeente")
            branchID = text("vestiging").flatMap(UUID.init(uuidString:))
            segment = text("segment")
            benchmark = text("vergelijk")
        }

        /// The query string of this question with one part changed.
        func link(segment: String?? = .none, csv: Bool = false) -> String {
            var parts: [(String, String)] = [("rapport", inhabitants ? "inwoners" : "leden")]
            if let municipality { parts.append(("gemeente", municipality)) }
            if let branchID, !inhabitants { parts.append(("vestiging", branchID.lower)) }
            if let benchmark, inhabitants { parts.append(("vergelijk", benchmark)) }
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
        let indexLabel: String
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
    }

    private static func number(_ value: Int) -> String { Dutch.number(value) }

    /// 12,4 (one decimal, Dutch)
    private static func decimal(_ value: Double?) -> String {
        guard let value else { return "–" }
        let tenths = Int((value * 10).rounded())
        return "\(Dutch.number(tenths / 10)),\(abs(tenths % 10))"
    }

    func page(_ request: Request, _ context: KringRequestContext, csv: Bool) async throws -> Response {
        let staff = try Staff(context)
        let question = Question(request)
        let (delivery, area, branches) = try await services.inTenant(.reportsRead, context) { tx, _, _ in
            (
                try await MosaicReports.currentDelivery(in: tx), try await MosaicReports.serviceArea(in: tx),
                try await Branches.list(in: tx).map { ($0.id, $0.name, $0.municipality) }
            )
        }
        let tabs = [
            AdminPages.Tab(label: "Leden en inwoners", href: "/inzicht/mosaic?rapport=leden", current: !question.inhabitants),
            AdminPages.Tab(label: "Inwoners van het werkgebied", href: "/inzicht/mosaic?rapport=inwoners", current: question.inhabitants),
        ]
        guard let delivery else {
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
        // The scope: a municipality of the service area, else a branch's, else the whole area.
        let branch = question.inhabitants ? nil : branches.first { $0.0 == question.branchID }
        let municipalities: [String]
        let scope: String
        if let branch {
            municipalities = [branch.2]
            scope = "Vestiging \(branch.1) (leden met deze voorkeursvestiging, wonend in \(branch.2))"
        } else if let chosen = question.municipality, area.contains(chosen) {
            municipalities = [chosen]
            scope = "Gemeente \(chosen)"
        } else {
            municipalities = area
            scope = area.isEmpty ? "" : "Het werkgebied: \(area.joined(separator: ", "))"
        }
        let segmentCode = question.segment
        var rows: [Row] = []
        var total: Row?
        var bars: [Charts.IndexBar] = []
        var outside: String?
        var csvFile = CSVDownload()
        var characteristics: [Characteristic] = []
        var characteristicColumns: [String] = []
        var segmentName: String?
        if question.inhabitants {
            let benchmark = question.benchmark.flatMap { name in area.contains(name) ? name : nil }
            let report = try await services.inTenant(.reportsRead, context) { tx, _, _ in
                try await MosaicReports.inhabitants(municipalities: municipalities, benchmark: benchmark, delivery: delivery, in: tx)
            }
            let lines = segmentCode.map { code in report.subsegments.filter { $0.segmentCode == code } } ?? report.segments
            segmentName = segmentCode.flatMap { code in report.segments.first { $0.code == code }?.name }
            csvFile.row(["code", "naam", "inwoners", "huishoudens", "aandeel werkgebied (%)", "inwoners vergelijking", "index"])
            for line in lines {
                let index = report.index(line)
                rows.append(
                    Row(
                        code: line.code, name: line.name, href: segmentCode == nil ? question.link(segment: line.code) : nil,
                        inhabitants: Self.number(line.inhabitants), members: "", active: "", youth: "", guests: "",
                        share: Self.decimal(report.share(line).map { $0 * 100 }), penetration: "", index: index.map(String.init) ?? "–",
                        indexLabel: index.map { "index \($0)" } ?? "geen index"))
                bars.append(Charts.IndexBar(label: "\(line.code) \(line.name)", index: index))
                csvFile.raw(
                    "\(CSVDownload.field(line.code));\(CSVDownload.field(line.name));\(line.inhabitants);\(line.households);"
                        + "\(Self.decimal(report.share(line).map { $0 * 100 }));\(line.benchmarkInhabitants);\(index.map(String.init) ?? "")")
            }
            total = Row(
                code: "", name: segmentCode == nil ? "Totaal" : "Hele gebied (alle segmenten)", href: nil,
                inhabitants: Self.number(report.total.inhabitants), members: "", active: "", youth: "",
                guests: "", share: "100,0", penetration: "", index: "100", indexLabel: "")
        } else {
            let report = try await services.inTenant(.reportsRead, context) { tx, _, _ in
                try await MosaicReports.membersAgainstArea(municipalities: municipalities, branchID: branch?.0, delivery: delivery, in: tx)
            }
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
                        penetration: Self.decimal(line.penetration), index: index.map(String.init) ?? "–",
                        indexLabel: index.map { "index \($0)" } ?? "geen index"))
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
                penetration: Self.decimal(all.penetration), index: "100", indexLabel: "")
            if report.membersOutside > 0 {
                outside =
                    "\(Self.number(report.membersOutside)) \(report.membersOutside == 1 ? "lid woont" : "leden wonen") buiten dit gebied of "
                    + "\(report.membersOutside == 1 ? "heeft" : "hebben") een postcode die niet in de Mosaic-gegevens staat; zij tellen hier niet mee."
            }
        }
        if csv {
            let name = question.inhabitants ? "mosaic-inwoners" : "mosaic-leden"
            return csvFile.response(filename: "\(name)\(segmentCode.map { "-\($0.lowercased().filter(\.isLetter))" } ?? "").csv")
        }
        if segmentCode != nil {
            let shown = rows
            let read = try await services.inTenant(.reportsRead, context) { tx, _, _ in
                var found: [(Row, String, [String: String])] = []
                for row in shown {
                    guard let subsegment = try await MosaicReports.characteristics(of: row.code, delivery: delivery, in: tx) else { continue }
                    found.append((row, subsegment.0, subsegment.1))
                }
                return found
            }
            characteristicColumns = Array(Set(read.flatMap { $0.2.keys })).sorted()
            characteristics = read.map { row, description, facts in
                Characteristic(code: row.code, name: row.name, description: description, values: characteristicColumns.map { facts[$0] ?? "" })
            }
        }
        let title = question.inhabitants ? "Inwoners van het werkgebied naar Mosaic-segment" : "Leden en inwoners naar Mosaic-segment"
        let model = PageModel(
            chrome: staff.chrome("Mosaic", area: "/inzicht"), tabs: tabs, hasDelivery: true,
            delivery:
                "Mosaic-levering ‘\(delivery.label)’, geladen op \(Dutch.date(delivery.loadedAt)) (\(Self.number(delivery.postcodes)) postcodes)",
            inhabitantsReport: question.inhabitants,
            municipalities: [Choice(value: "", label: "Het hele werkgebied", selected: question.municipality == nil || branch != nil)]
                + area.map { Choice(value: $0, label: $0, selected: branch == nil && $0 == question.municipality) },
            branches: [Choice(value: "", label: "Alle vestigingen", selected: branch == nil)]
                + branches.map { Choice(value: $0.0.lower, label: $0.1, selected: $0.0 == branch?.0) },
            benchmarks: [Choice(value: "", label: "De provincie (alle geladen postcodes)", selected: question.benchmark == nil)]
                + area.map { Choice(value: $0, label: "Gemeente \($0)", selected: $0 == question.benchmark) },
            scope: scope, segmentName: segmentName, backHref: question.link(segment: .some(nil)), rows: rows, total: total,
            chart: Charts.indexBars(bars, title: "\(title): index per \(segmentCode == nil ? "segment" : "subsegment"), 100 is gemiddeld"),
            outside: outside, characteristics: characteristics, characteristicColumns: characteristicColumns,
            hasCharacteristics: !characteristics.isEmpty, csvHref: question.link(csv: true), noArea: area.isEmpty)
        return try render(model)
    }

    private func render(_ model: PageModel) throws -> Response {
        WebResponse.html(try templates.render("insight/mosaic", model))
    }
}
