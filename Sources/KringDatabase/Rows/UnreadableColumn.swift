import Foundation
import KringCore
import PostgresNIO

/// A stored value the code cannot read: an enum value it does not know, JSON of the wrong shape, a date that is no
/// date, a setting that is no number. Rows fail closed: such a row is an error, never a default. A request that meets
/// one answers 500 (`Problem.internalError()`); in a worker it fails the job, or the library's batch of sends or its
/// campaign tick, which then waits until the row is mended (a row the code cannot read is not mailed).
///
/// The description is written for logs and failure reasons: the column, the Swift type and what is wrong. It quotes the
/// stored value only when that looks like a code (an enum value, a date, a number), never free text that may be
/// personal data; JSON is described by the path that failed, never by its values.
public struct UnreadableColumn: Error, ProblemConvertible, CustomStringConvertible, Equatable {
    /// The column as the query names it, a `settings` key, or a key inside a JSON column.
    public let column: String
    /// The Swift type the value should have been, e.g. `KringCampaigns.Campaign.State`.
    public let type: String
    /// What is wrong; safe to log.
    public let reason: String
    public let file: String
    public let line: Int

    public init(column: String, type: Any.Type, reason: String, file: String = #fileID, line: Int = #line) {
        self.column = column
        self.type = String(reflecting: type)
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var problem: Problem { .internalError() }

    public var description: String { "unreadable column \(column) (\(type)): \(reason) [\(file):\(line)]" }
}

extension UnreadableColumn {
    /// `raw` as a case of `E`; a value `E` does not have throws.
    public static func enumValue<E: RawRepresentable>(
        _: E.Type, _ raw: String, column: String, file: String = #fileID, line: Int = #line
    ) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw UnreadableColumn(column: column, type: E.self, reason: "unknown value \(shown(raw))", file: file, line: line)
        }
        return value
    }

    /// `raw` read by `parse` (a number, a flag, an id kept as text); NULL or a value `parse` refuses throws.
    public static func parse<T>(
        _ raw: String?, as _: T.Type, column: String, file: String = #fileID, line: Int = #line, _ parse: (String) -> T?
    ) throws -> T {
        guard let raw else { throw UnreadableColumn(column: column, type: T.self, reason: "NULL", file: file, line: line) }
        guard let value = parse(raw) else {
            throw UnreadableColumn(column: column, type: T.self, reason: "cannot read \(shown(raw))", file: file, line: line)
        }
        return value
    }

    /// A `date` column read as `::text` (`YYYY-MM-DD`).
    public static func calendarDate(_ raw: String, column: String, file: String = #fileID, line: Int = #line) throws -> CalendarDate {
        try parse(raw, as: CalendarDate.self, column: column, file: file, line: line) { CalendarDate($0) }
    }

    /// JSON text (a `jsonb` column read as `::text`) as `T`.
    public static func json<T: Decodable>(_: T.Type, _ text: String, column: String, file: String = #fileID, line: Int = #line) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw UnreadableColumn(column: column, type: T.self, reason: explain(error), file: file, line: line)
        } catch {
            throw UnreadableColumn(column: column, type: T.self, reason: "\(Swift.type(of: error))", file: file, line: line)
        }
    }

    /// The value in quotes when it looks like a code: at most 40 ASCII letters, digits and `_-.:+`. Otherwise only its
    /// length, so that free text (a name, an address) never reaches a log.
    static func shown(_ raw: String) -> String {
        isCode(raw) ? "'\(raw)'" : "of \(raw.count) characters"
    }

    static func isCode(_ raw: String) -> Bool {
        !raw.isEmpty && raw.count <= 40
            && raw.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-.:+".unicodeScalars.contains($0))
            }
    }

    /// Where and how JSON failed to decode, without the decoder's message (it may quote the value).
    static func explain(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let parts = keys.map { (key: any CodingKey) -> String in
                if let index = key.intValue { return "[\(index)]" }
                return isCode(key.stringValue) ? key.stringValue : "(key)"
            }
            return parts.isEmpty ? "the top level" : parts.reduce("") { $0.isEmpty ? $1 : ($1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1) }
        }
        switch error {
        case .dataCorrupted(let context): return "invalid JSON or value at \(path(context.codingPath))"
        case .keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context): return "expected \(type) at \(path(context.codingPath))"
        case .valueNotFound(let type, let context): return "expected \(type), found null at \(path(context.codingPath))"
        @unknown default: return "cannot decode"
        }
    }
}

extension PostgresCell {
    /// A text column as a case of `E`: an unknown value throws `UnreadableColumn`, it never becomes a default.
    public func decodeEnum<E: RawRepresentable>(_: E.Type, file: String = #fileID, line: Int = #line) throws -> E where E.RawValue == String {
        try UnreadableColumn.enumValue(E.self, decode(String.self, file: file, line: line), column: columnName, file: file, line: line)
    }

    /// A nullable text column as a case of `E`, or nil for NULL; an unknown value throws `UnreadableColumn`.
    public func decodeEnum<E: RawRepresentable>(_: E?.Type, file: String = #fileID, line: Int = #line) throws -> E? where E.RawValue == String {
        try decode(String?.self, file: file, line: line).map {
            try UnreadableColumn.enumValue(E.self, $0, column: columnName, file: file, line: line)
        }
    }

    /// A `text[]` column as cases of `E`; one unknown value throws `UnreadableColumn` (none is silently dropped).
    public func decodeEnum<E: RawRepresentable>(_: [E].Type, file: String = #fileID, line: Int = #line) throws -> [E] where E.RawValue == String {
        try decode([String].self, file: file, line: line).map {
            try UnreadableColumn.enumValue(E.self, $0, column: columnName, file: file, line: line)
        }
    }

    /// A `date` column selected as `::text`.
    public func decodeCalendarDate(_: CalendarDate.Type, file: String = #fileID, line: Int = #line) throws -> CalendarDate {
        try UnreadableColumn.calendarDate(decode(String.self, file: file, line: line), column: columnName, file: file, line: line)
    }

    /// A nullable `date` column selected as `::text`: nil for NULL, never for a value that is no date.
    public func decodeCalendarDate(_: CalendarDate?.Type, file: String = #fileID, line: Int = #line) throws -> CalendarDate? {
        try decode(String?.self, file: file, line: line).map {
            try UnreadableColumn.calendarDate($0, column: columnName, file: file, line: line)
        }
    }

    /// A `jsonb` column selected as `::text`, decoded as `T`.
    public func decodeJSON<T: Decodable>(_: T.Type, file: String = #fileID, line: Int = #line) throws -> T {
        try UnreadableColumn.json(T.self, decode(String.self, file: file, line: line), column: columnName, file: file, line: line)
    }

    /// A nullable `jsonb` column selected as `::text`: nil for NULL, never for JSON that does not decode.
    public func decodeJSON<T: Decodable>(_: T?.Type, file: String = #fileID, line: Int = #line) throws -> T? {
        try decode(String?.self, file: file, line: line).map {
            try UnreadableColumn.json(T.self, $0, column: columnName, file: file, line: line)
        }
    }
}
