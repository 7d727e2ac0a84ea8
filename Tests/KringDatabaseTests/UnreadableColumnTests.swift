import Foundation
import KringCore
import KringDatabase
import PostgresNIO
import Testing

/// Rows fail closed: the throwing decoders turn a stored value the code cannot read into `UnreadableColumn` (a 500),
/// never into a default, and say what was wrong without quoting free text.
@Suite struct UnreadableColumnTests {
    enum State: String, Decodable { case draft, sent }
    struct Shape: Decodable, Equatable {
        let state: State
        let steps: [Int]
    }

    /// A text cell as PostgreSQL sends it (binary format: the UTF-8 bytes); nil is SQL NULL.
    static func cell(_ text: String?, column: String = "state") -> PostgresCell {
        PostgresCell(bytes: text.map { ByteBuffer(string: $0) }, dataType: .text, format: .binary, columnName: column, columnIndex: 0)
    }

    @Test func knownValuesDecodeAndNullIsNilOnlyWhereTheColumnMayBeNull() throws {
        #expect(try Self.cell("sent").decodeEnum(State.self) == .sent)
        #expect(try Self.cell("draft").decodeEnum(State?.self) == .draft)
        #expect(try Self.cell(nil).decodeEnum(State?.self) == nil)
        #expect(throws: PostgresDecodingError.self) { try Self.cell(nil).decodeEnum(State.self) }
        #expect(
            try Self.cell("2024-02-29", column: "period_start").decodeCalendarDate(CalendarDate.self) == CalendarDate(year: 2024, month: 2, day: 29))
        #expect(try Self.cell(nil, column: "period_end").decodeCalendarDate(CalendarDate?.self) == nil)
        #expect(
            try Self.cell(#"{"state": "sent", "steps": [1, 2]}"#, column: "journey").decodeJSON(Shape.self) == Shape(state: .sent, steps: [1, 2]))
        #expect(try Self.cell(nil, column: "journey").decodeJSON(Shape?.self) == nil)
    }

    @Test func anUnknownEnumValueThrowsInsteadOfBecomingADefault() throws {
        let error = try #require(throws: UnreadableColumn.self) { try Self.cell("archived").decodeEnum(State.self) }
        #expect(error.column == "state")
        #expect(error.type.hasSuffix("UnreadableColumnTests.State"))
        #expect(error.reason == "unknown value 'archived'")
        #expect(error.problem == .internalError())
        #expect(throws: UnreadableColumn.self) { try Self.cell("archived").decodeEnum(State?.self) }
    }

    @Test func aDateThatIsNoDateThrowsInsteadOfBecoming1900() throws {
        let error = try #require(throws: UnreadableColumn.self) {
            try Self.cell("2023-02-29", column: "period_start").decodeCalendarDate(CalendarDate.self)
        }
        #expect(error.column == "period_start")
        #expect(error.reason == "cannot read '2023-02-29'")
        #expect(throws: UnreadableColumn.self) { try Self.cell("infinity", column: "period_end").decodeCalendarDate(CalendarDate?.self) }
    }

    @Test func jsonOfTheWrongShapeThrowsInsteadOfBecomingNil() throws {
        let wrongCase = try #require(throws: UnreadableColumn.self) {
            try Self.cell(#"{"state": "full_moon", "steps": []}"#, column: "journey").decodeJSON(Shape?.self)
        }
        #expect(wrongCase.column == "journey")
        #expect(wrongCase.reason == "invalid JSON or value at state")
        let missing = try #require(throws: UnreadableColumn.self) { try Self.cell(#"{"state": "sent"}"#, column: "journey").decodeJSON(Shape.self) }
        #expect(missing.reason == "missing steps")
        let notJSON = try #require(throws: UnreadableColumn.self) { try Self.cell("{", column: "journey").decodeJSON(Shape.self) }
        #expect(notJSON.reason == "invalid JSON or value at the top level")
        // The decoder's own message names the bad value; the error never does.
        #expect(!wrongCase.description.contains("full_moon"))
    }

    @Test func freeTextIsNeverQuotedOnlyItsLength() throws {
        let error = try #require(throws: UnreadableColumn.self) { try Self.cell("Jan de Vries, Dorpsstraat 1").decodeEnum(State.self) }
        #expect(error.reason == "unknown value of 27 characters")
        #expect(!error.description.contains("Vries"))
        let setting = try #require(throws: UnreadableColumn.self) {
            try UnreadableColumn.parse("yes", as: Bool.self, column: "settings.two_factor_required") { Bool($0) }
        }
        #expect(setting.description.hasPrefix("unreadable column settings.two_factor_required (Swift.Bool): cannot read 'yes'"))
        #expect(throws: UnreadableColumn.self) { try UnreadableColumn.parse(nil, as: Int.self, column: "settings.complaint_due_days") { Int($0) } }
    }
}
