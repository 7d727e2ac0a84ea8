/// A Dutch postcode in its canonical form `1234 AB` (four digits, the first not 0, a space, two capitals).
public struct Postcode: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    /// Accepts `1234AB`, `1234 ab`, ` 1234  AB `.
    public init?(_ raw: String) {
        // Scalar by scalar: this runs for every imported row. White space (a no-break space too) is dropped.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(6)
        for scalar in raw.unicodeScalars where !scalar.isTrimmable {
            guard bytes.count < 6, scalar.isASCII else { return nil }
            let byte = UInt8(scalar.value)
            bytes.append(byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte)
        }
        guard bytes.count == 6, (0x31...0x39).contains(bytes[0]),
            bytes[1...3].allSatisfy({ (0x30...0x39).contains($0) }),
            bytes[4...5].allSatisfy({ (0x41...0x5A).contains($0) })
        else { return nil }
        value = String(decoding: bytes[0...3], as: UTF8.self) + " " + String(decoding: bytes[4...5], as: UTF8.self)
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
