import Foundation
import Hummingbird
import KringCore
import NIOCore
import Synchronization

/// The API's JSON: snake_case keys, ISO 8601 dates, sorted keys, and ids as lower-case UUIDs (RFC 9562 and every JSON
/// API write them so; Foundation writes upper case). Ids are read in either case.
///
/// The bytes are Foundation's `JSONEncoder` output with `.convertToSnakeCase`, `.iso8601` and `.sortedKeys` but for
/// the case of UUIDs (a test compares the two), written by `APIJSON` for speed: Foundation converted every key of every
/// object to snake_case anew and built its output twice over, and encoding a page of 50 customers was a quarter of
/// the machine's time under load.
struct KringJSONEncoder: ResponseEncoder, Sendable {
    func encode(_ value: some Encodable) throws -> Data {
        Data(try APIJSON.bytes(value))
    }

    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let bytes = try APIJSON.bytes(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The API's JSON, for other modules that hand out the same documents (the web app's GDPR export download).
public enum KringJSON {
    public static func encode(_ value: some Encodable) throws -> Data { try JSON.encoder.encode(value) }
}

/// Encodes a value into a small tree (objects keep their keys in the order given), then writes the tree with sorted
/// keys. Keys are converted to snake_case once per process (`SnakeCase`); string-keyed dictionaries keep their keys
/// as given, as Foundation's encoder does, since they may be a library's own words.
enum APIJSON {
    static func bytes(_ value: some Encodable) throws -> [UInt8] {
        let root = try node(of: value, at: [])
        var writer = Writer()
        writer.bytes.reserveCapacity(4096)
        writer.write(root)
        return writer.bytes
    }

    /// The node of one value: the types Foundation's encoder writes in its own way first, then the value's `encode(to:)`.
    /// The coding path is worked out only for a value that encodes itself.
    static func node<T: Encodable>(of value: T, at codingPath: @autoclosure () -> [any CodingKey]) throws -> Node {
        if let string = value as? String { return .string(string) }
        if let uuid = value as? UUID { return .string(uuid.uuidString.lowercased()) }
        if let integer = value as? Int { return .literal(String(integer)) }
        if let flag = value as? Bool { return .literal(flag ? "true" : "false") }
        if let date = value as? Date { return .string(try ISO8601.string(date)) }
        if let dictionary = value as? any StringKeyedDictionary { return try dictionary.objectNode(at: codingPath()) }
        if value is Double || value is Float || value is Decimal { return .literal(try Fragment.number(value)) }
        if let data = value as? Data { return .string(data.base64EncodedString()) }
        if let url = value as? URL { return .string(url.absoluteString) }
        let encoder = TreeEncoder(codingPath: codingPath())
        try value.encode(to: encoder)
        return encoder.resolved
    }

    /// What Foundation's encoder does itself, for the rare values not worth writing by hand.
    enum Fragment {
        /// A number as Foundation writes it (its shortest form of a double, `1e+21`); non-finite numbers throw as there.
        static func number<T: Encodable>(_ value: T) throws -> String {
            String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        }
    }

    enum Node {
        case string(String)
        /// Written as it is: a number, `true`, `false` or `null`.
        case literal(String)
        case object(ObjectBox)
        case array(ArrayBox)
        /// The value of a super-encoder, which its caller fills after it was placed.
        case pending(TreeEncoder)
    }

    final class ObjectBox {
        var keys: [String] = []
        var values: [Node] = []

        func append(_ key: String, _ value: Node) {
            keys.append(key)
            values.append(value)
        }
    }

    final class ArrayBox {
        var values: [Node] = []
    }

    final class TreeEncoder: Encoder {
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        var node: Node?

        init(codingPath: [any CodingKey]) {
            self.codingPath = codingPath
        }

        /// A value that encoded nothing is an empty object, as with Foundation.
        var resolved: Node { node ?? .object(ObjectBox()) }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            let box: ObjectBox
            if case .object(let existing)? = node {
                box = existing
            } else {
                box = ObjectBox()
                node = .object(box)
            }
            return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            let box: ArrayBox
            if case .array(let existing)? = node {
                box = existing
            } else {
                box = ArrayBox()
                node = .array(box)
            }
            return UnkeyedContainer(box: box, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: self) }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: ObjectBox
        let codingPath: [any CodingKey]

        private func name(_ key: Key) -> String { SnakeCase.convert(key.stringValue) }

        mutating func encodeNil(forKey key: Key) throws { box.append(name(key), .literal("null")) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { box.append(name(key), .literal(value ? "true" : "false")) }
        mutating func encode(_ value: String, forKey key: Key) throws { box.append(name(key), .string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { box.append(name(key), .literal(try Fragment.number(value))) }
        mutating func encode(_ value: Float, forKey key: Key) throws { box.append(name(key), .literal(try Fragment.number(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { box.append(name(key), .literal(String(value))) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            box.append(name(key), try APIJSON.node(of: value, at: codingPath + [key]))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let nested = ObjectBox()
            box.append(name(key), .object(nested))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            box.append(name(key), .array(nested))
            return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = TreeEncoder(codingPath: codingPath)
            box.append("super", .pending(encoder))
            return encoder
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let encoder = TreeEncoder(codingPath: codingPath + [key])
            box.append(name(key), .pending(encoder))
            return encoder
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let box: ArrayBox
        let codingPath: [any CodingKey]
        var count: Int { box.values.count }

        mutating func encodeNil() throws { box.values.append(.literal("null")) }
        mutating func encode(_ value: Bool) throws { box.values.append(.literal(value ? "true" : "false")) }
        mutating func encode(_ value: String) throws { box.values.append(.string(value)) }
        mutating func encode(_ value: Double) throws { box.values.append(.literal(try Fragment.number(value))) }
        mutating func encode(_ value: Float) throws { box.values.append(.literal(try Fragment.number(value))) }
        mutating func encode(_ value: Int) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: Int8) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: Int16) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: Int32) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: Int64) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: UInt) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: UInt8) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: UInt16) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: UInt32) throws { box.values.append(.literal(String(value))) }
        mutating func encode(_ value: UInt64) throws { box.values.append(.literal(String(value))) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            box.values.append(try APIJSON.node(of: value, at: codingPath + [IndexKey(box.values.count)]))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let nested = ObjectBox()
            let path = codingPath + [IndexKey(box.values.count)]
            box.values.append(.object(nested))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: path))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            let path = codingPath + [IndexKey(box.values.count)]
            box.values.append(.array(nested))
            return UnkeyedContainer(box: nested, codingPath: path)
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = TreeEncoder(codingPath: codingPath + [IndexKey(box.values.count)])
            box.values.append(.pending(encoder))
            return encoder
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        private func set(_ node: Node) { encoder.node = node }

        mutating func encodeNil() throws { set(.literal("null")) }
        mutating func encode(_ value: Bool) throws { set(.literal(value ? "true" : "false")) }
        mutating func encode(_ value: String) throws { set(.string(value)) }
        mutating func encode(_ value: Double) throws { set(.literal(try Fragment.number(value))) }
        mutating func encode(_ value: Float) throws { set(.literal(try Fragment.number(value))) }
        mutating func encode(_ value: Int) throws { set(.literal(String(value))) }
        mutating func encode(_ value: Int8) throws { set(.literal(String(value))) }
        mutating func encode(_ value: Int16) throws { set(.literal(String(value))) }
        mutating func encode(_ value: Int32) throws { set(.literal(String(value))) }
        mutating func encode(_ value: Int64) throws { set(.literal(String(value))) }
        mutating func encode(_ value: UInt) throws { set(.literal(String(value))) }
        mutating func encode(_ value: UInt8) throws { set(.literal(String(value))) }
        mutating func encode(_ value: UInt16) throws { set(.literal(String(value))) }
        mutating func encode(_ value: UInt32) throws { set(.literal(String(value))) }
        mutating func encode(_ value: UInt64) throws { set(.literal(String(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws { set(try APIJSON.node(of: value, at: codingPath)) }
    }

    struct IndexKey: CodingKey {
        let intValue: Int?
        var stringValue: String { "Index \(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    /// Writes a tree as compact JSON with each object's keys in byte order (the last of a repeated key wins), strings
    /// escaped as Foundation escapes them (`/` as `\/`, control characters as `\n` or `\u001f`).
    struct Writer {
        var bytes: [UInt8] = []

        mutating func write(_ node: Node) {
            switch node {
            case .string(let string):
                writeString(string)
            case .literal(let literal):
                bytes.append(contentsOf: literal.utf8)
            case .array(let box):
                bytes.append(UInt8(ascii: "["))
                for (index, value) in box.values.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    write(value)
                }
                bytes.append(UInt8(ascii: "]"))
            case .object(let box):
                writeObject(box)
            case .pending(let encoder):
                write(encoder.resolved)
            }
        }

        private mutating func writeObject(_ box: ObjectBox) {
            let keys = box.keys
            let order = keys.indices.sorted { left, right in
                if keys[left] == keys[right] { return left < right }
                return keys[left].utf8.lexicographicallyPrecedes(keys[right].utf8)
            }
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (position, index) in order.enumerated() {
                if position + 1 < order.count, keys[order[position + 1]] == keys[index] { continue }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                writeString(keys[index])
                bytes.append(UInt8(ascii: ":"))
                write(box.values[index])
            }
            bytes.append(UInt8(ascii: "}"))
        }

        private mutating func writeString(_ string: String) {
            bytes.append(UInt8(ascii: "\""))
            var string = string
            string.withUTF8 { utf8 in
                var start = 0
                for index in 0..<utf8.count {
                    let byte = utf8[index]
                    guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/") else { continue }
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                    start = index + 1
                    bytes.append(UInt8(ascii: "\\"))
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(byte)
                    case 0x08: bytes.append(UInt8(ascii: "b"))
                    case 0x0C: bytes.append(UInt8(ascii: "f"))
                    case 0x0A: bytes.append(UInt8(ascii: "n"))
                    case 0x0D: bytes.append(UInt8(ascii: "r"))
                    case 0x09: bytes.append(UInt8(ascii: "t"))
                    default:
                        let hex = Array("0123456789abcdef".utf8)
                        bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                    }
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }
}

/// String-keyed dictionaries: written with their keys as given.
protocol StringKeyedDictionary {
    func objectNode(at codingPath: [any CodingKey]) throws -> APIJSON.Node
}

extension Dictionary: StringKeyedDictionary where Key == String, Value: Encodable {
    func objectNode(at codingPath: [any CodingKey]) throws -> APIJSON.Node {
        let box = APIJSON.ObjectBox()
        box.keys.reserveCapacity(count)
        box.values.reserveCapacity(count)
        for (key, value) in self {
            box.append(key, try APIJSON.node(of: value, at: codingPath))
        }
        return .object(box)
    }
}

/// A key as Foundation's `.convertToSnakeCase` writes it, worked out by Foundation once per key and remembered.
enum SnakeCase {
    private static let known = Mutex<[String: String]>([:])
    /// Keys come from types' coding keys, a few hundred in all; the bound only guards against keys made from data.
    private static let limit = 10_000

    static func convert(_ key: String) -> String {
        // Without an upper-case letter a key stays as it is (Foundation splits words only at upper-case letters).
        if key.utf8.allSatisfy({ $0 < 0x80 && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) { return key }
        if let converted = known.withLock({ $0[key] }) { return converted }
        let converted = foundationConversion(key)
        known.withLock { known in
            if known.count < limit { known[key] = converted }
        }
        return converted
    }

    private static func foundationConversion(_ key: String) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(Probe(key: key)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Int],
            let converted = object.keys.first
        else { return key }
        return converted
    }

    private struct Probe: Encodable {
        let key: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: NameKey.self)
            try container.encode(0, forKey: NameKey(stringValue: key))
        }
    }

    private struct NameKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// ISO 8601 in UTC to the second, as Foundation's `.iso8601` date strategy writes it (fractions cut off), worked out
/// by hand for the years 1600 to 9999 and left to Foundation for others.
enum ISO8601 {
    static func string(_ date: Date) throws -> String {
        let interval = date.timeIntervalSince1970
        guard interval.isFinite, abs(interval) < 1e12 else { return try foundation(date) }
        let seconds = Int64(interval.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (civilYear, civilMonth, civilDay) = CalendarDate.civil(daysSince1970: Int(days))
        let (year, month, day) = (Int64(civilYear), Int64(civilMonth), Int64(civilDay))
        guard (1600...9999).contains(year) else { return try foundation(date) }
        var out: [UInt8] = []
        out.reserveCapacity(20)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        out.append(UInt8(ascii: "-"))
        digits(month, 2)
        out.append(UInt8(ascii: "-"))
        digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func foundation(_ date: Date) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let quoted = try JSONSerialization.jsonObject(with: try encoder.encode([date]), options: []) as? [String]
        return quoted?.first ?? ""
    }
}
