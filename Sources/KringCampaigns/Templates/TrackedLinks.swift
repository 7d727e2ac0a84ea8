import Foundation
import KringCore

/// Click and open tracking in a rendered mail: links go through the tracking redirect, except the recipient's own
/// links (unsubscribe, preferences), which must work without it.
enum TrackedLinks {
    /// Rewrites every `href="http..."` and `href='http...'` (attribute values are HTML-escaped; the URL handed to
    /// `rewrite` is the unescaped one, and its result is escaped again). Scans from `=` to `=` with `memchr`, since
    /// a mail is mostly text without them.
    static func rewriteHTML(_ html: String, direct: Set<String>, rewrite: (String) -> String) -> String {
        let bytes = Array(html.utf8)
        var output: [UInt8] = []
        var copied = 0
        bytes.withUnsafeBufferPointer { p in
            var i = 0
            while let equals = find(UInt8(ascii: "="), in: p, from: i) {
                i = equals + 1
                var k = equals
                while k > 0, isSpace(p[k - 1]) { k -= 1 }
                guard k >= 4, p[k - 4] | 0x20 == UInt8(ascii: "h"), p[k - 3] | 0x20 == UInt8(ascii: "r"), p[k - 2] | 0x20 == UInt8(ascii: "e"),
                    p[k - 1] | 0x20 == UInt8(ascii: "f"), k == 4 || !isNameByte(p[k - 5])
                else { continue }
                var j = equals + 1
                while j < p.count, isSpace(p[j]) { j += 1 }
                guard j < p.count, p[j] == UInt8(ascii: "\"") || p[j] == UInt8(ascii: "'") else { continue }
                let start = j + 1
                guard let end = find(p[j], in: p, from: start) else { break }
                let url = unescape(String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self))
                if isWebURL(url), !direct.contains(url) {
                    if output.isEmpty { output.reserveCapacity(p.count + 1024) }
                    output.append(contentsOf: p[copied..<start])
                    output.append(contentsOf: escape(rewrite(url)).utf8)
                    copied = end
                }
                i = end + 1
            }
            if copied > 0 { output.append(contentsOf: p[copied...]) }
        }
        return copied > 0 ? String(decoding: output, as: UTF8.self) : html
    }

    /// Rewrites every bare `http://` or `https://` URL of a text part; punctuation that ends a sentence stays out.
    /// Scans from `:` to `:`.
    static func rewriteText(_ text: String, direct: Set<String>, rewrite: (String) -> String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var copied = 0
        bytes.withUnsafeBufferPointer { p in
            var i = 0
            while let colon = find(UInt8(ascii: ":"), in: p, from: i) {
                i = colon + 1
                guard colon + 2 < p.count, p[colon + 1] == UInt8(ascii: "/"), p[colon + 2] == UInt8(ascii: "/") else { continue }
                var start = colon
                if start >= 1, p[start - 1] | 0x20 == UInt8(ascii: "s") { start -= 1 }
                guard start >= 4, p[start - 4] | 0x20 == UInt8(ascii: "h"), p[start - 3] | 0x20 == UInt8(ascii: "t"),
                    p[start - 2] | 0x20 == UInt8(ascii: "t"), p[start - 1] | 0x20 == UInt8(ascii: "p")
                else { continue }
                start -= 4
                guard start >= copied, start == 0 || !isNameByte(p[start - 1]) else { continue }
                var end = colon + 3
                while end < p.count, !endsBareURL(p[end]) { end += 1 }
                while end > colon + 3, isTrailingPunctuation(p[end - 1]) { end -= 1 }
                let url = String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
                if !direct.contains(url) {
                    if output.isEmpty { output.reserveCapacity(p.count + 1024) }
                    output.append(contentsOf: p[copied..<start])
                    output.append(contentsOf: rewrite(url).utf8)
                    copied = end
                }
                i = max(end, i)
            }
            if copied > 0 { output.append(contentsOf: p[copied...]) }
        }
        return copied > 0 ? String(decoding: output, as: UTF8.self) : text
    }

    /// A 1x1 image before the last `</body>`, or at the end when there is none.
    static func addOpenPixel(_ url: String, to html: String) -> String {
        let image = "<img src=\"\(escape(url))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0;\">"
        let bytes = Array(html.utf8)
        let close = Array("</body>".utf8)
        var i = bytes.count - close.count
        while i >= 0 {
            if bytes[i] == UInt8(ascii: "<"), (1..<close.count).allSatisfy({ bytes[i + $0] | 0x20 == close[$0] }) {
                return String(decoding: bytes[..<i], as: UTF8.self) + image + String(decoding: bytes[i...], as: UTF8.self)
            }
            i -= 1
        }
        return html + image
    }

    // MARK: Helpers

    static func isWebURL(_ url: String) -> Bool {
        let scheme = url.utf8.prefix(8).map { $0 | 0x20 }
        return scheme.starts(with: "http://".utf8) || scheme.starts(with: "https://".utf8)
    }

    /// The index of the next `byte` from `from`, by `memchr`.
    private static func find(_ byte: UInt8, in p: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = p.baseAddress, from < p.count, let hit = memchr(base + from, Int32(byte), p.count - from) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        let b = byte | 0x20
        return (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    private static func endsBareURL(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }

    private static func isTrailingPunctuation(_ byte: UInt8) -> Bool {
        ".,;:!?)]".utf8.contains(byte)
    }

    /// The entities an attribute value may use for the characters of a URL.
    static func unescape(_ value: String) -> String {
        guard value.contains("&") else { return value }
        var result = ""
        var rest = Substring(value)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            let tail = rest[amp...]
            guard let semicolon = tail.prefix(10).firstIndex(of: ";") else {
                result += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let name = tail[tail.index(after: amp)..<semicolon]
            if let character = entity(name) {
                result.append(character)
                rest = rest[rest.index(after: semicolon)...]
            } else {
                result += "&"
                rest = rest[rest.index(after: amp)...]
            }
        }
        return result + rest
    }

    private static func entity(_ name: Substring) -> Character? {
        switch name {
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        case "lt": return "<"
        case "gt": return ">"
        default:
            guard name.first == "#" else { return nil }
            let digits = name.dropFirst()
            let code = digits.first == "x" || digits.first == "X" ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
            return code.flatMap { Unicode.Scalar($0) }.map { Character($0) }
        }
    }

    static func escape(_ value: String) -> String { HTMLText.escape(value) }
}
