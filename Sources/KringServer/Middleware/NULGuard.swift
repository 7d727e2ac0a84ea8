import Foundation
import KringCore

/// NUL (U+0000) is valid in JSON, in a URL (`%00`) and in a Swift string, but PostgreSQL's text types cannot hold it.
/// Input refuses it where it is decoded (JSON bodies, forms, the query string), so no route can pass one on.
enum NULGuard {
    /// The problem for a NUL in `field`: a client error naming the field, never the value.
    static func problem(field: String) -> Problem {
        .badRequest(
            "Text may not contain the NUL character (U+0000).",
            errors: [FieldError(field: field, message: "Remove the NUL character (U+0000).")])
    }

    /// Throws when JSON text holds an escaped NUL (`\u0000`) in a string or key, naming where it is (under `field`
    /// for JSON that came in a query parameter). One pass over the bytes; the text is parsed a second time only to
    /// name the field of a refused request.
    static func checkJSON(_ bytes: some Collection<UInt8>, field: String? = nil) throws {
        guard containsEscapedNUL(bytes) else { return }
        let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        let inner = object.flatMap { Self.path(in: $0) }.flatMap { $0 == "(body)" && field != nil ? nil : $0 }
        let named = [field, inner].compactMap { $0 }.joined(separator: ".")
        throw problem(field: named.isEmpty ? "(body)" : named)
    }

    /// Throws when a query parameter's name or value holds NUL, naming the parameter.
    static func checkQuery(_ parameters: some Sequence<(key: Substring, value: Substring)>) throws {
        for (key, value) in parameters where key.contains("\0") || value.contains("\0") {
            throw problem(field: key.contains("\0") ? "(query)" : (String(key).removingPercentEncoding ?? String(key)))
        }
    }

    /// Whether a JSON string holds `\u0000`; an escaped backslash (`\\u0000`) is text, not NUL.
    static func containsEscapedNUL(_ bytes: some Collection<UInt8>) -> Bool {
        var inString = false
        var iterator = bytes.makeIterator()
        let zero = UInt8(ascii: "0")
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "\"") {
                inString.toggle()
            } else if inString && byte == UInt8(ascii: "\\") {
                guard let escaped = iterator.next() else { return false }
                guard escaped == UInt8(ascii: "u") else { continue }
                // Valid JSON has four hex digits here; invalid JSON is refused by the decoder anyway.
                var zeros = 0
                while zeros < 4, iterator.next() == zero { zeros += 1 }
                if zeros == 4 { return true }
            }
        }
        return false
    }

    /// The JSON path (`rule.all[0].value`) of the first string or key holding NUL in a parsed value.
    static func path(in value: Any, prefix: String = "") -> String? {
        switch value {
        case let text as String:
            return text.contains("\0") ? (prefix.isEmpty ? "(body)" : prefix) : nil
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = path(in: element, prefix: "\(prefix)[\(index)]") { return found }
            }
            return nil
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                let child = prefix.isEmpty ? key : "\(prefix).\(key)"
                if key.contains("\0") { return prefix.isEmpty ? "(body)" : prefix }
                if let found = path(in: object[key] as Any, prefix: child) { return found }
            }
            return nil
        default:
            return nil
        }
    }
}
