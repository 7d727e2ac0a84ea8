import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase
import KringInsight
import KringServer

/// Inzicht › Kerncijfers: the library's figures now (measured when the page is asked), a month ago and the change, and
/// a line over 13 months from the nightly figures; each figure's definition on hover; all of it as CSV. Counts only.
struct FigurePages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("inzicht/kerncijfers") { _, context in try await page(context, csv: false) }
        router.get("inzicht/kerncijfers.csv") { _, context in try await page(context, csv: true) }
    }

    /// Inzicht's two pages.
    static func tabs(_ current: String) -> [AdminPages.Tab] {
        [("Kerncijfers", "/inzicht/kerncijfers"), ("Mosaic", "/inzicht/mosaic")].map {
            AdminPages.Tab(label: $0.0, href: $0.1, current: $0.1 == current)
        }
    }

    struct Line: Sendable {
        let name: String
        let definition: String
        let now: String
        let monthAgo: String
        let change: String
        let spark: String
    }

    struct Group: Sendable {
        let name: String
        let lines: [Line]
    }

    struct Model {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let groups: [Group]
        let since: String
        let hasHistory: Bool
    }

    /// The figure's value on `day` or the nearest earlier stored day (within a week).
    static func value(on day: CalendarDate, in line: [(day: CalendarDate, value: LibraryFigures.Value)]) -> Double? {
        line.last { $0.day <= day && $0.day.adding(days: 7) >= day }?.value.value
    }

    func page(_ context: KringRequestContext, csv: Bool) async throws -> Response {
        let staff = try Staff(context)
        let (tenant, values, today) = try await services.inTenant(.reportsRead, context) { tx, _, now in
            (tx.tenant, try await LibraryFigures.measure(at: now, in: tx), CalendarDate(now))
        }
        let since = today.adding(days: -400)
        let history = try await LibraryFigures.history(tenant, since: since, db: services.db)
        // Thirteen points: a value per month back (30 days apart), then today's.
        let months = (1...12).reversed().map { today.adding(days: -30 * $0) }
        let monthAgo = today.adding(days: -30)
        var lines: [String: [Line]] = [:]
        var file = CSVDownload()
        file.row(["code", "cijfer", "definitie", "nu", "een maand geleden", "verschil"] + months.map(\.description))
        for figure in LibraryFigures.catalogue {
            let line = history[figure.code] ?? []
            let now = values[figure.code]?.value
            let before = Self.value(on: monthAgo, in: line)
            let points = months.map { Self.value(on: $0, in: line) } + [now]
            let shown = Line(
                name: figure.name, definition: figure.definition, now: PlatformPages.formatted(now, unit: figure.unit),
                monthAgo: PlatformPages.formatted(before, unit: figure.unit), change: Self.change(from: before, to: now, unit: figure.unit),
                spark: Charts.sparkline(points, title: "\(figure.name) over 13 maanden, per maand"))
            lines[figure.group, default: []].append(shown)
            file.row(
                [figure.code, figure.name, figure.definition, shown.now, shown.monthAgo, shown.change]
                    + points.dropLast().map { PlatformPages.formatted($0, unit: figure.unit) })
        }
        if csv { return file.response(filename: "kerncijfers.csv") }
        let groups = LibraryFigures.groups.map { Group(name: $0, lines: lines[$0] ?? []) }
        let first = history.values.compactMap { $0.first?.day }.min()
        let model = Model(
            chrome: staff.chrome("Kerncijfers", area: "/inzicht"), tabs: Self.tabs("/inzicht/kerncijfers"), groups: groups,
            since: first.map { "De lijnen lopen vanaf \(Dutch.date($0)), een punt per maand." } ?? "",
            hasHistory: first != nil)
        return WebResponse.html(try templates.render("insight/figures", model))
    }

    /// "+12", "−3", "+1,2 pt" (a share's change in percentage points), "0"; "–" without both values.
    static func change(from before: Double?, to now: Double?, unit: LibraryFigure.Unit) -> String {
        guard let before, let now else { return "–" }
        let difference = now - before
        let sign = difference > 0 ? "+" : (difference < 0 ? "−" : "")
        let size = abs(difference)
        switch unit {
        case .count: return size < 0.5 ? "0" : "\(sign)\(Dutch.number(Int(size.rounded())))"
        case .percent: return size < 0.05 ? "0" : "\(sign)\(Dutch.decimal(size)) pt"
        case .decimal, .days: return size < 0.05 ? "0" : "\(sign)\(Dutch.decimal(size))"
        case .euros: return size < 0.005 ? "0" : "\(sign)\(Dutch.amount(cents: Int((size * 100).rounded())))"
        }
    }
}
