import Foundation
import KringCore

/// Charts drawn on the server as SVG: no script, printable, readable in black and grey. Each has a title for screen
/// readers; the page puts a text summary and the figures as a table beside it.
enum Charts {
    struct Bar: Sendable {
        let label: String
        let value: Int
    }

    struct Series: Sendable {
        let name: String
        /// A CSS class of the stylesheet (chart-a, chart-b).
        let style: String
        let values: [Int]
    }

    struct IndexBar: Sendable {
        let label: String
        /// Nil: no index (no inhabitants), drawn as a dash.
        let index: Int?
    }

    /// Horizontal bars around a line at 100: one per segment, to the right when the index lies above 100, to the
    /// left when below; an index above 250 is drawn to the edge with its figure.
    static func indexBars(_ bars: [IndexBar], title: String) -> String {
        let width = 640
        let labelWidth = 260
        let row = 26
        let height = bars.count * row + 30
        let room = Double(width - labelWidth - 50)
        func x(_ index: Int) -> Int { labelWidth + Int(Double(min(index, 250)) / 250 * room) }
        let hundred = x(100)
        var svg = """
            <svg class="chart" viewBox="0 0 \(width) \(height)" width="100%" role="img" aria-label="\(HTMLText.escape(title))" \
            xmlns="http://www.w3.org/2000/svg"><title>\(HTMLText.escape(title))</title>
            """
        for (position, bar) in bars.enumerated() {
            let y = position * row + 4
            let label = bar.label.count > 34 ? String(bar.label.prefix(33)) + "…" : bar.label
            svg += "<text x=\"0\" y=\"\(y + 17)\" class=\"chart-label\">\(HTMLText.escape(label))</text>"
            guard let index = bar.index else {
                svg += "<text x=\"\(hundred + 6)\" y=\"\(y + 17)\" class=\"chart-value\">–</text>"
                continue
            }
            let end = x(index)
            let (left, length) = end >= hundred ? (hundred, end - hundred) : (end, hundred - end)
            svg += """
                <rect x="\(left)" y="\(y + 4)" width="\(max(length, 1))" height="\(row - 10)" class="\(index >= 100 ? "chart-a" : "chart-b")"/>\
                <text x="\(max(end, hundred) + 6)" y="\(y + 17)" class="chart-value">\(index)</text>
                """
        }
        let bottom = bars.count * row + 6
        svg += """
            <line x1="\(hundred)" y1="0" x2="\(hundred)" y2="\(bottom)" class="chart-axis"/>\
            <text x="\(hundred)" y="\(bottom + 18)" text-anchor="middle" class="chart-label">100 = gemiddeld</text>
            """
        return svg + "</svg>"
    }

    /// A small line of a figure over time (oldest first), scaled to its own lowest and highest value, with a dot at
    /// the last; nil values leave a gap.
    static func sparkline(_ values: [Double?], title: String) -> String {
        let (width, height, pad) = (160.0, 36.0, 4.0)
        let known = values.compactMap { $0 }
        guard known.count >= 2, let low = known.min(), let high = known.max() else { return "" }
        let span = high - low
        func point(_ index: Int, _ value: Double) -> (Double, Double) {
            let x = pad + (width - 2 * pad) * Double(index) / Double(max(values.count - 1, 1))
            let y = span == 0 ? height / 2 : height - pad - (height - 2 * pad) * (value - low) / span
            return (x, y)
        }
        var segments: [[(Double, Double)]] = [[]]
        for (index, value) in values.enumerated() {
            guard let value else {
                if !(segments.last?.isEmpty ?? true) { segments.append([]) }
                continue
            }
            segments[segments.count - 1].append(point(index, value))
        }
        var svg = """
            <svg class="sparkline" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" \
            aria-label="\(HTMLText.escape(title))" xmlns="http://www.w3.org/2000/svg"><title>\(HTMLText.escape(title))</title>
            """
        for segment in segments where segment.count > 1 {
            svg += "<polyline class=\"chart-line\" points=\"\(segment.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>"
        }
        if let lastIndex = values.lastIndex(where: { $0 != nil }), let last = values[lastIndex] {
            let (x, y) = point(lastIndex, last)
            svg += "<circle class=\"chart-dot\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"3\"/>"
        }
        return svg + "</svg>"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Horizontal bars, one per step, the first the widest (a funnel): the number and its share of the first at the end.
    static func funnel(_ bars: [Bar], title: String) -> String {
        let width = 640
        let labelWidth = 150
        let row = 36
        let height = bars.count * row + 8
        let first = max(bars.first?.value ?? 0, 1)
        let room = Double(width - labelWidth - 150)
        var svg = """
            <svg class="chart" viewBox="0 0 \(width) \(height)" width="100%" role="img" aria-label="\(HTMLText.escape(title))" \
            xmlns="http://www.w3.org/2000/svg"><title>\(HTMLText.escape(title))</title>
            """
        for (index, bar) in bars.enumerated() {
            let y = index * row + 4
            let length = bar.value == 0 ? 0 : max(2, Int((Double(bar.value) / Double(first) * room).rounded()))
            let share = index == 0 ? "" : " (\(Dutch.percent(bar.value, of: first)))"
            svg += """
                <text x="0" y="\(y + 22)" class="chart-label">\(HTMLText.escape(bar.label))</text>\
                <rect x="\(labelWidth)" y="\(y + 4)" width="\(length)" height="\(row - 12)" class="\(index == 0 ? "chart-a" : "chart-b")"/>\
                <text x="\(labelWidth + length + 8)" y="\(y + 22)" class="chart-value">\(Dutch.number(bar.value))\(share)</text>
                """
        }
        return svg + "</svg>"
    }

    /// Vertical bars per day, the series side by side, with the day under each group and a legend.
    static func days(_ series: [Series], labels: [String], title: String) -> String {
        let width = 640
        let height = 240
        let top = 28
        let bottom = 30
        let plot = Double(height - top - bottom)
        let maximum = max(series.flatMap(\.values).max() ?? 0, 1)
        let group = Double(width - 40) / Double(max(labels.count, 1))
        let barWidth = (group - 14) / Double(max(series.count, 1))
        var svg = """
            <svg class="chart" viewBox="0 0 \(width) \(height)" width="100%" role="img" aria-label="\(HTMLText.escape(title))" \
            xmlns="http://www.w3.org/2000/svg"><title>\(HTMLText.escape(title))</title>
            """
        // Legend.
        for (index, entry) in series.enumerated() {
            let x = 40 + index * 210
            svg += """
                <rect x="\(x)" y="4" width="14" height="14" class="\(entry.style)"/><text x="\(x + 20)" y="16" class="chart-label">\(HTMLText.escape(entry.name))</text>
                """
        }
        svg += "<line x1=\"30\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" class=\"chart-axis\"/>"
        svg += "<text x=\"0\" y=\"\(top + 10)\" class=\"chart-value\">\(Dutch.number(maximum))</text>"
        for (day, label) in labels.enumerated() {
            let groupX = 40 + Double(day) * group
            for (index, entry) in series.enumerated() {
                let value = day < entry.values.count ? entry.values[day] : 0
                let barHeight = value == 0 ? 0 : max(2, Double(value) / Double(maximum) * plot)
                let x = groupX + Double(index) * barWidth
                svg += """
                    <rect x="\(f(x))" y="\(f(Double(height - bottom) - barHeight))" width="\(f(barWidth - 2))" height="\(f(barHeight))" \
                    class="\(entry.style)"/>
                    """
            }
            svg += """
                <text x="\(f(groupX + (group - 14) / 2))" y="\(height - 10)" class="chart-label" text-anchor="middle">\(HTMLText.escape(label))</text>
                """
        }
        return svg + "</svg>"
    }
}
