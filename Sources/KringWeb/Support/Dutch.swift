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
        return (value < 0 ? "-" : "") + out
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

    /// 2011 AB
    static func postcode(_ value: String?) -> String? {
        guard let value else { return nil }
        let compact = value.uppercased().filter { !$0.isWhitespace }
        guard compact.count == 6 else { return value }
        return String(compact.prefix(4)) + " " + String(compact.suffix(2))
    }
}
