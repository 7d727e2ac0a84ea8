import Foundation

/// The short, URL-safe name of a library tenant, e.g. `zuid-kennemerland`.
///
/// The schema (`t_<slug>`) and database role (`kring_t_<slug>`) are derived from it, with `-` as `_`.
public struct TenantSlug: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    /// `^[a-z][a-z0-9-]{1,38}$`
    public init?(_ value: String) {
        let bytes = Array(value.utf8)
        guard (2...39).contains(bytes.count),
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]),
            bytes.allSatisfy({ c in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                    || c == UInt8(ascii: "-")
            })
        else { return nil }
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let slug = TenantSlug(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a valid tenant slug"))
        }
        self = slug
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// The slug with `-` as `_` (byte by byte: every request's tenant switch needs it).
    private var underscored: String {
        String(decoding: value.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }

    // Both derived names are valid identifiers by construction of the slug; the fallbacks are unreachable
    // and exist only so that no force-unwrap sits in library code.
    public var schema: SQLIdentifier { SQLIdentifier("t_" + underscored) ?? SQLIdentifier("t_invalid")! }
    public var role: SQLIdentifier { SQLIdentifier("kring_t_" + underscored) ?? SQLIdentifier("kring_t_invalid")! }

    public var description: String { value }
}
