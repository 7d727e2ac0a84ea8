import Foundation
import KringCore
import Testing

@testable import KringServer

/// The API's own JSON writer must give Foundation's bytes (snake_case, ISO 8601, sorted keys) but for the case of ids.
@Suite struct APIJSONTests {
    private func foundation(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func ours(_ value: some Encodable) throws -> String {
        String(decoding: try KringJSONEncoder().encode(value), as: UTF8.self)
    }

    enum Kind: String, Codable { case member, guest }

    enum Event: Encodable {
        case sent(at: Date)
        case clicked(url: URL, count: Int)
        case nothing
    }

    struct Signals: Encodable {
        let loans12m: Int
        let loansTotal: Int
        let lastLoanDate: String?
        let genreCounts: [String: Int]
        let averageScore: Double?
    }

    struct Person: Encodable {
        let id: UUID
        let householdID: UUID?
        let favouriteBranchID: UUID?
        let firstName: String
        let lastName: String?
        let isHTTPSOK: Bool
        let myURLValue: URL
        let aB2C: Int
        let _private: Int
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // A key with an underscore of its own.
        let alreadySnake_case: Int
        let roles: [Kind]
        let tags: [String]
        let createdAt: Date
        let loanSignals: Signals
        let events: [Event]
        let optionals: [UUID?]
        let byNumber: [Int: String]
        let nested: [[String: [UUID]]]
        let amount: Decimal
        let ratio: Float
        let raw: Data
        let big: UInt64
        let small: Int8
    }

    /// Encodes through a super-encoder and nested containers by hand, as some types do.
    struct Handwritten: Encodable {
        enum Keys: String, CodingKey { case parentValue, listOfThings, inner, zeta, alpha }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("z", forKey: .zeta)
            var list = container.nestedUnkeyedContainer(forKey: .listOfThings)
            try list.encode(1)
            try list.encodeNil()
            var deeper = list.nestedContainer(keyedBy: Keys.self)
            try deeper.encode(true, forKey: .alpha)
            let parent = container.superEncoder(forKey: .parentValue)
            var single = parent.singleValueContainer()
            try single.encode(UUID(uuidString: "0190B3C4-1D2E-7ABC-8DEF-0123456789AB")!)
            var inner = container.nestedContainer(keyedBy: Keys.self, forKey: .inner)
            try inner.encodeNil(forKey: .alpha)
            try container.encode("a", forKey: .alpha)
        }
    }

    struct Empty: Encodable {}

    private func person(_ seed: Int, name: String, at date: Date) -> Person {
        Person(
            id: UUID(), householdID: seed % 2 == 0 ? UUID() : nil, favouriteBranchID: seed % 3 == 0 ? nil : UUID(),
            firstName: name, lastName: seed % 4 == 0 ? nil : "de Vries-\(name)", isHTTPSOK: seed % 2 == 1,
            myURLValue: URL(string: "https://bieb.example/a/b?c=\(seed)&d=é")!, aB2C: seed, _private: -seed, alreadySnake_case: 3,
            roles: seed % 2 == 0 ? [.member, .guest] : [], tags: ["x/y", name], createdAt: date,
            loanSignals: Signals(
                loans12m: seed, loansTotal: seed * 3, lastLoanDate: seed % 2 == 0 ? "2026-07-21" : nil,
                genreCounts: ["Poetry": 2, "picture-books": seed, "Zoë": 1, "aB": 0],
                averageScore: seed % 3 == 0 ? nil : Double(seed) / 7),
            events: [.sent(at: date), .clicked(url: URL(string: "https://x.nl/\(seed)")!, count: seed), .nothing],
            optionals: [UUID(), nil], byNumber: [seed + 10: "n", 1: "één"], nested: [["Key": [UUID()]], [:]],
            amount: Decimal(seed) / 4, ratio: Float(seed) / 3, raw: Data((0..<seed % 7).map { UInt8($0 * 37 % 256) }),
            big: UInt64.max - UInt64(seed), small: Int8(truncatingIfNeeded: -seed))
    }

    /// Foundation's output with its upper-case ids in lower case.
    private func expected(_ value: some Encodable, ids: [UUID]) throws -> String {
        var text = try foundation(value)
        for id in ids { text = text.replacingOccurrences(of: id.uuidString, with: id.uuidString.lowercased()) }
        return text
    }

    private func ids(of person: Person) -> [UUID] {
        [person.id, person.householdID, person.favouriteBranchID].compactMap { $0 } + person.optionals.compactMap { $0 }
            + person.nested.flatMap { $0.values.flatMap { $0 } }
    }

    @Test func itWritesFoundationsBytesButLowerCaseIds() throws {
        var generator = SystemRandomNumberGenerator()
        // Every control character, the characters JSON escapes, and text beyond ASCII.
        let awkward = (0..<32).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\"\\/ é😀\u{7F}\u{2028}\u{FEFF}"
        var people: [Person] = []
        for seed in 0..<200 {
            // Dates from 1600 to 9999 with fractions, and a few before and after.
            let seconds = Double.random(in: -11_676_096_000...253_402_300_799, using: &generator)
            let name = seed == 0 ? awkward : String((0..<(seed % 12)).map { _ in awkward.randomElement(using: &generator)! })
            people.append(person(seed, name: name, at: Date(timeIntervalSince1970: seed % 10 == 0 ? seconds.rounded() : seconds)))
        }
        people.append(person(7, name: "oud", at: Date(timeIntervalSince1970: -62_000_000_000)))
        people.append(person(8, name: "epoch", at: Date(timeIntervalSince1970: -0.5)))
        for person in people {
            #expect(try ours(person) == (try expected(person, ids: ids(of: person))))
        }
        // A page of them, as the search answers.
        #expect(try ours(["items": people]) == (try expected(["items": people], ids: people.flatMap(ids(of:)))))
    }

    @Test func itWritesContainersBuiltByHandAndBareValues() throws {
        let handwritten = Handwritten()
        #expect(try ours(handwritten) == (try expected(handwritten, ids: [UUID(uuidString: "0190B3C4-1D2E-7ABC-8DEF-0123456789AB")!])))
        #expect(try ours(Empty()) == (try foundation(Empty())))
        #expect(try ours([Empty()]) == (try foundation([Empty()])))
        #expect(try ours("a/b") == (try foundation("a/b")))
        #expect(try ours(1.5) == (try foundation(1.5)))
        #expect(try ours([1e21, -2.5e-7, 100, 0.1]) == (try foundation([1e21, -2.5e-7, 100, 0.1])))
        #expect(try ours(["camelKey": ["innerKey": 1]]) == #"{"camelKey":{"innerKey":1}}"#)
        let id = UUID()
        #expect(try ours(id) == "\"\(id.uuidString.lowercased())\"")
        #expect(try ours([Kind.member: 1]) == (try foundation([Kind.member: 1])))
    }

    @Test func aNumberJSONCannotHoldFailsAsWithFoundation() {
        #expect(throws: EncodingError.self) { try ours(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try ours([Float.infinity]) }
    }

    @Test func aProblemDocumentIsFoundationsToo() throws {
        let problem = Problem.badRequest("Veld \"naam\" ontbreekt / is leeg.")
        #expect(try ours(problem) == (try foundation(problem)))
    }
}
