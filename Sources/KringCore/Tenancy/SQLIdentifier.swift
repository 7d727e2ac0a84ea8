/// A PostgreSQL identifier (schema or role name) that passed validation and can be quoted into SQL text.
///
/// Identifiers cannot be bind parameters, so this is the one place where names enter SQL text:
/// only lowercase letters, digits and underscores, starting with a letter, and always double-quoted.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init?(_ name: String) {
        // PostgreSQL truncates identifiers at 63 bytes; a truncated name would silently alias another.
        guard (2...63).contains(name.utf8.count),
            let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            name.utf8.allSatisfy({ c in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                    || c == UInt8(ascii: "_")
            })
        else { return nil }
        self.name = name
    }

    /// The identifier double-quoted for SQL text.
    public var quoted: String { "\"\(name)\"" }
    public var description: String { name }
}
