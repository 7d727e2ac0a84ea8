import Foundation

/// An e-mail address in its canonical form (trimmed, Unicode NFC, lowercased), checked for plausible syntax.
///
/// NFC makes a decomposed "zoë" (e + U+0308, as some keyboards and exports write it) the same address as the
/// composed one, so it finds the same customer and the same suppression.
///
/// Deliverability is proven by mail, not by syntax; this only rejects what can never be an address.
public struct EmailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init?(_ raw: String) {
        let value = raw.trimmed().precomposedStringWithCanonicalMapping.lowercased()
        guard value.utf8.count <= 254,
            let at = value.lastIndex(of: "@"),
            value.firstIndex(of: "@") == at
        else { return nil }
        let local = value[..<at].utf8
        let domain = value[value.index(after: at)...].utf8
        let dot = UInt8(ascii: ".")
        func hasDoubleDot(_ part: Substring.UTF8View) -> Bool { zip(part, part.dropFirst()).contains { $0 == dot && $1 == dot } }
        guard !local.isEmpty, local.count <= 64,
            local.first != dot, local.last != dot, !hasDoubleDot(local),
            domain.contains(dot), domain.first != dot, domain.last != dot, !hasDoubleDot(domain),
            !value.unicodeScalars.contains(where: { $0.isTrimmable || $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" || $0 == "\"" })
        else { return nil }
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let email = EmailAddress(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a valid e-mail address"))
        }
        self = email
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { value }
}
