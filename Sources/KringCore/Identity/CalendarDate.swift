import Foundation

/// A day in the calendar without a time or zone: a birth date, a membership start, a last loan.
///
/// Kept apart from `Date` so that no time-zone conversion can move a birthday to the day before.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1800...2200).contains(year), (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// ISO `2024-03-07` or Dutch `07-03-2024` / `7-3-2024`.
    public init?(_ raw: String) {
        // Byte-wise: this runs for every date of every imported row.
        var numbers: [Int] = []
        var digits: [Int] = []
        var current = 0
        var count = 0
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                current = current * 10 + Int(byte - UInt8(ascii: "0"))
                count += 1
                if count > 4 { return nil }
            case UInt8(ascii: "-"):
                guard count > 0, numbers.count < 2 else { return nil }
                numbers.append(current)
                digits.append(count)
                current = 0
                count = 0
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard numbers.isEmpty && count == 0 || numbers.count == 2 && count > 0 else { return nil }
            default:
                return nil
            }
        }
        guard count > 0, numbers.count == 2 else { return nil }
        numbers.append(current)
        digits.append(count)
        if digits[0] == 4 {
            self.init(year: numbers[0], month: numbers[1], day: numbers[2])
        } else if digits[2] == 4 {
            self.init(year: numbers[2], month: numbers[1], day: numbers[0])
        } else {
            return nil
        }
    }

    /// The calendar day of `date` in the Netherlands.
    public init(_ date: Date, timeZone: TimeZone = TimeZone(identifier: "Europe/Amsterdam") ?? .gmt) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.year = parts.year ?? 1970
        self.month = parts.month ?? 1
        self.day = parts.day ?? 1
    }

    /// The day `days` later (earlier when negative), counted on the proleptic Gregorian calendar. Arithmetic may
    /// leave the years 1800 to 2200 that a parsed date keeps to.
    public func adding(days: Int) -> CalendarDate {
        let (year, month, day) = Self.civil(daysSince1970: daysSince1970 + days)
        return CalendarDate(unchecked: year, month: month, day: day)
    }

    /// Days from 1970-01-01 to this day (Howard Hinnant's days_from_civil).
    public var daysSince1970: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The year, month and day `days` after 1970-01-01, for any year (Howard Hinnant's civil_from_days).
    public static func civil(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private init(unchecked year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Whole years from `self` to `other` (an age on a given day).
    public func years(until other: CalendarDate) -> Int {
        var years = other.year - year
        if (other.month, other.day) < (month, day) { years -= 1 }
        return years
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let date = CalendarDate(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a date (use YYYY-MM-DD)"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
