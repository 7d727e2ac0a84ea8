import Foundation
import KringCore
import PostgresNIO

/// Collects field errors while a draft is checked, so that every problem is reported at once.
struct Validator {
    private(set) var errors: [FieldError] = []

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field: field, message: message))
    }

    /// Trimmed text, nil when empty.
    mutating func text(_ value: String?, _ field: String, max: Int = 200) -> String? {
        guard let trimmed = value?.trimmed(), !trimmed.isEmpty else { return nil }
        if trimmed.count > max { fail(field, "Use at most \(max) characters.") }
        return trimmed
    }

    mutating func required(_ value: String?, _ field: String, max: Int = 200) -> String {
        guard let text = text(value, field, max: max) else {
            fail(field, "Give a value of 1 to \(max) characters.")
            return ""
        }
        return text
    }

    mutating func date(_ value: String?, _ field: String) -> CalendarDate? {
        guard let raw = text(value, field, max: 20) else { return nil }
        guard let date = CalendarDate(raw) else {
            fail(field, "Not a date; use YYYY-MM-DD or DD-MM-YYYY.")
            return nil
        }
        return date
    }

    mutating func requiredDate(_ value: String?, _ field: String) -> CalendarDate? {
        if value?.trimmed().isEmpty ?? true {
            fail(field, "Give a date (YYYY-MM-DD).")
            return nil
        }
        return date(value, field)
    }

    /// Lowercased, deduplicated and sorted, like customer tags.
    mutating func list(_ values: [String]?, _ field: String) -> [String] {
        let cleaned = (values ?? []).map { $0.trimmed().lowercased() }.filter { !$0.isEmpty }
        if cleaned.count > 50 { fail(field, "Use at most 50 entries.") }
        for (index, value) in cleaned.enumerated() where value.count > 50 { fail("\(field)[\(index)]", "Use at most 50 characters.") }
        return Array(Set(cleaned)).sorted()
    }

    mutating func email(_ value: String?, _ field: String) -> String? {
        guard let raw = text(value, field, max: 254) else { return nil }
        guard let address = EmailAddress(raw) else {
            fail(field, "Not a valid e-mail address.")
            return nil
        }
        return address.value
    }

    mutating func phone(_ value: String?, _ field: String) -> String? {
        guard let raw = text(value, field, max: 30) else { return nil }
        let digits = raw.filter(\.isNumber)
        guard raw.allSatisfy({ $0.isNumber || " +-()".contains($0) }), (8...15).contains(digits.count) else {
            fail(field, "Not a phone number.")
            return nil
        }
        return raw
    }

    mutating func postcode(_ value: String?, _ field: String) -> String? {
        guard let raw = text(value, field, max: 10) else { return nil }
        guard let code = Postcode(raw) else {
            fail(field, "Not a Dutch postcode; use 1234 AB.")
            return nil
        }
        return code.value
    }

    /// One of an enumeration's raw values; `fallback` when absent.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ value: String?, _ field: String, fallback: E? = nil) -> E?
    where E.RawValue == String {
        guard let raw = text(value, field, max: 40) else {
            if fallback == nil { fail(field, "Give one of \(E.allCases.map(\.rawValue).joined(separator: ", ")).") }
            return fallback
        }
        guard let choice = E(rawValue: raw.lowercased()) else {
            fail(field, "Use one of \(E.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        return choice
    }

    mutating func amount(_ cents: Int?, _ field: String, required: Bool) -> Int? {
        guard let cents else {
            if required { fail(field, "Give an amount in cents.") }
            return nil
        }
        if cents < 0 || cents > 100_000_000_000 { fail(field, "Use 0 to 100000000000 cents.") }
        return cents
    }

    /// `end` may not lie before `start`.
    mutating func period(_ start: CalendarDate?, _ end: CalendarDate?, endField: String, startField: String) {
        if let start, let end, end < start { fail(endField, "Lies before \(startField).") }
    }

    func check() throws(RelationsError) {
        if !errors.isEmpty { throw .invalid(errors) }
    }
}

extension CalendarDate {
    /// The date as SQL text for a `::date` bind.
    var sql: String { description }
}

/// A `LIKE` pattern that matches `needle` literally, with `%` on the given sides.
func likePattern(_ needle: String, prefix: Bool = false) -> String {
    let escaped = needle.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
        .replacingOccurrences(of: "_", with: "\\_")
    return (prefix ? "" : "%") + escaped + "%"
}

extension PostgresRowSequence {
    /// The first row, if any; constraint errors of a `RETURNING` statement surface here.
    func first() async throws -> PostgresRow? {
        for try await row in self { return row }
        return nil
    }
}
