import Foundation

/// A segment's rule tree, as JSON: `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a condition
/// `{"field": "age", "op": ">=", "value": 18}`.
///
/// Decoding checks only the shape; a malformed node fails with its JSON path in the coding path (e.g.
/// `rule.all[2]`). Fields, operators and value types are checked against the catalogue when the tree compiles.
public indirect enum SegmentRule: Sendable, Equatable, Codable {
    case all([SegmentRule])
    case any([SegmentRule])
    case not(SegmentRule)
    case condition(SegmentCondition)

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let shapeHelp = "A rule is {\"all\": [rules]}, {\"any\": [rules]}, {\"not\": rule} or a condition {\"field\", \"op\", \"value\"}."

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<Key>
        do {
            container = try decoder.container(keyedBy: Key.self)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.shapeHelp))
        }
        let keys = Set(container.allKeys.map(\.stringValue))
        if keys == ["all"] {
            self = .all(try container.decode([SegmentRule].self, forKey: Key("all")))
        } else if keys == ["any"] {
            self = .any(try container.decode([SegmentRule].self, forKey: Key("any")))
        } else if keys == ["not"] {
            self = .not(try container.decode(SegmentRule.self, forKey: Key("not")))
        } else if keys.contains("field") || keys.contains("op") {
            if let unknown = keys.subtracting(["field", "op", "value"]).sorted().first {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath + [Key(unknown)],
                        debugDescription: "A condition has only field, op and value."))
            }
            self = .condition(try SegmentCondition(from: decoder))
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.shapeHelp))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .all(let rules):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(rules, forKey: Key("all"))
        case .any(let rules):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(rules, forKey: Key("any"))
        case .not(let rule):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(rule, forKey: Key("not"))
        case .condition(let condition):
            try condition.encode(to: encoder)
        }
    }
}

/// One test on a customer: a catalogue field, an operator that fits its type, and a value.
public struct SegmentCondition: Sendable, Equatable, Codable {
    public var field: String
    public var op: String
    public var value: SegmentValue?

    public init(field: String, op: String, value: SegmentValue? = nil) {
        self.field = field
        self.op = op
        self.value = value
    }
}

/// Any JSON value, as a condition carries it until the catalogue says what it must be.
public enum SegmentValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([SegmentValue])
    case object([String: SegmentValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([SegmentValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: SegmentValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if let whole = Int(exactly: value) { try container.encode(whole) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension SegmentValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: SegmentValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, SegmentValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}
