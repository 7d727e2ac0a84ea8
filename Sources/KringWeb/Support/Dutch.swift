import Foundation
import KringCore

/// How the web app writes dates, numbers and amounts: the Dutch way, in Europe/Amsterdam.
enum Dutch {
    static let timeZone = TimeZone(identifier: "Europe/Amsterdam") ?? .current
    static let months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"]
    static let weekdays = ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"]

    /// ISO 8601 weeks (Monday first; week 1 holds the first Thursday), as Dutch calendars number them.
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        return calendar
    }()

    /// 6 december 2026
    static func date(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return "\(parts.day ?? 1) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970)"
    }

    static func date(_ date: CalendarDate) -> String {
        "\(date.day) \(months[date.month - 1]) \(date.year)"
    }

    /// 6 december 2026, 14:30
    static func dateTime(_ date: Date) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return "\(Self.date(date)), \(String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0))"
    }

    /// 14:30
    static func time(_ date: Date) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
    }

    /// vandaag, morgen, over 3 dagen, gisteren, 2 dagen geleden
    static func relativeDay(_ date: Date, now: Date) -> String {
        let days = calendar.dateComponents([.day], from: calendar.startOfDay(for: now), to: calendar.startOfDay(for: date)).day ?? 0
        switch days {
        case 0: return "vandaag"
        case 1: return "morgen"
        case -1: return "gisteren"
        case 2...: return "over \(days) dagen"
        default: return "\(-days) dagen geleden"
        }
    }

    /// 68.000
    static func number(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(".") }
            out.append(character)
        }
        // A negative number with the minus sign (U+2212), as a change reads ("−3"), not a hyphen.
        return (value < 0 ? "\u{2212}" : "") + out
    }

    /// 12,4 (one decimal; "–" for none).
    static func decimal(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths < 0 ? "\u{2212}" : "")\(number(abs(tenths) / 10)),\(abs(tenths) % 10)"
    }

    /// 6,2% of `whole` (one decimal; 0% of nothing).
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0%" }
        let tenths = Int((Double(part) * 1000 / Double(whole)).rounded())
        return tenths % 10 == 0 ? "\(number(tenths / 10))%" : "\(number(tenths / 10)),\(abs(tenths % 10))%"
    }

    /// € 42,50 from cents
    static func amount(cents: Int) -> String {
        "€ \(number(cents / 100)),\(String(format: "%02d", abs(cents % 100)))"
    }

    /// Cents from an amount as Dutch staff type it: "1.250,50", "1250,5", "€ 1.250", "1250" or "1250.50"; nil when it is not one.
    /// With a comma, the comma is the decimal mark and dots group thousands; without one, a dot followed by exactly three
    /// digits groups thousands ("1.250") and any other dot is the decimal mark ("12.50").
    static func cents(_ raw: String) -> Int? {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("€") { text = String(text.dropFirst()).trimmingCharacters(in: .whitespaces) }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == ",") }) else { return nil }
        var whole: Substring
        var fraction: Substring = ""
        if let comma = text.firstIndex(of: ",") {
            whole = text[..<comma]
            fraction = text[text.index(after: comma)...]
            let groups = whole.split(separator: ".", omittingEmptySubsequences: false)
            guard groups.dropFirst().allSatisfy({ $0.count == 3 }), !(groups.first ?? "").isEmpty else { return nil }
            whole = Substring(groups.joined())
        } else {
            let groups = text.split(separator: ".", omittingEmptySubsequences: false)
            if groups.count > 1, groups.dropFirst().allSatisfy({ $0.count == 3 }) {
                whole = Substring(groups.joined())
            } else if groups.count == 2 {
                whole = groups[0]
                fraction = groups[1]
            } else if groups.count == 1 {
                whole = groups[0]
            } else {
                return nil
            }
        }
        guard !whole.isEmpty, whole.count <= 12, fraction.count <= 2, whole.allSatisfy(\.isNumber), fraction.allSatisfy(\.isNumber),
            let euros = Int(whole)
        else { return nil }
        let cents = fraction.isEmpty ? 0 : (Int(fraction) ?? 0) * (fraction.count == 1 ? 10 : 1)
        return euros * 100 + cents
    }

    /// 1250,50 from cents: an amount as a form field shows it again (no euro sign, no thousands dots).
    static func amountField(cents: Int) -> String {
        "\(cents / 100),\(String(format: "%02d", abs(cents % 100)))"
    }

    /// 2011 AB
    static func postcode(_ value: String?) -> String? {
        guard let value else { return nil }
        let compact = value.uppercased().filter { !$0.isWhitespace }
        guard compact.count == 6 else { return value }
        return String(compact.prefix(4)) + " " + String(compact.suffix(2))
    }
}
