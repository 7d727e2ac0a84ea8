/// A Dutch postcode in its canonical form `1234 AB` (four digits, the first not 0, a space, two capitals).
public struct Postcode: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    /// Accepts `1234AB`, `1234 ab`, ` 1234  AB `.
    public init?(_ raw: String) {
        let compact = raw.uppercased().filter { !$0.isWhitespace }
        let chars = Array(compact)
        guard chars.count == 6,
              let first = chars[0].wholeNumberValue, first > 0,
              chars[1...3].allSatisfy({ $0.isASCII && $0.isNumber }),
              chars[4...5].allSatisfy({ $0.isASCII && $0.isLetter })
        else { return nil }
        value = String(chars[0...3]) + " " + String(chars[4...5])
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let postcode = Postcode(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a Dutch postcode"))
        }
        self = postcode
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { value }
}
