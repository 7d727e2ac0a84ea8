import Foundation

/// Click and open tracking in a rendered mail: links go through the tracking redirect, except the recipient's own
/// links (unsubscribe, preferences), which must work without it.
enum TrackedLinks {
    /// Rewrites every `href="http..."` and `href='http...'` (attribute values are HTML-escaped; the URL handed to
    /// `rewrite` is the unescaped one, and its result is escaped again).
    static func rewriteHTML(_ html: String, direct: Set<String>, rewrite: (String) -> String) -> String {
        let bytes = Array(html.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 512)
        var copied = 0
        var i = 0
        while i + 4 < bytes.count {
            guard lower(bytes[i]) == UInt8(ascii: "h"), lower(bytes[i + 1]) == UInt8(ascii: "r"), lower(bytes[i + 2]) == UInt8(ascii: "e"),
                  lower(bytes[i + 3]) == UInt8(ascii: "f"), i == 0 || !isNameByte(bytes[i - 1]) else {
                i += 1
                continue
            }
            var j = skipSpaces(bytes, from: i + 4)
            guard j < bytes.count, bytes[j] == UInt8(ascii: "=") else { i += 4; continue }
            j = skipSpaces(bytes, from: j + 1)
            guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") else { i = j; continue }
            let quote = bytes[j]
            let start = j + 1
            var end = start
            while end < bytes.count, bytes[end] != quote { end += 1 }
            guard end < bytes.count else { break }
            let url = unescape(String(decoding: bytes[start..<end], as: UTF8.self))
            if isWebURL(url), !direct.contains(url) {
                output.append(contentsOf: bytes[copied..<start])
                output.append(contentsOf: escape(rewrite(url)).utf8)
                copied = end
            }
            i = end + 1
        }
        guard copied > 0 else { return html }
        output.append(contentsOf: bytes[copied...])
        return String(decoding: output, as: UTF8.self)
    }

    /// Rewrites every bare `http://` or `https://` URL of a text part; punctuation that ends a sentence stays out.
    static func rewriteText(_ text: String, direct: Set<String>, rewrite: (String) -> String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var copied = 0
        var i = 0
        while i + 7 < bytes.count {
            guard lower(bytes[i]) == UInt8(ascii: "h"), hasWebScheme(bytes, at: i), i == 0 || !isNameByte(bytes[i - 1]) else {
                i += 1
                continue
            }
            var end = i
            while end < bytes.count, !endsBareURL(bytes[end]) { end += 1 }
            while end > i, isTrailingPunctuation(bytes[end - 1]) { end -= 1 }
            let url = String(decoding: bytes[i..<end], as: UTF8.self)
            if !direct.contains(url) {
                if output.isEmpty { output.reserveCapacity(bytes.count + 512) }
                output.append(contentsOf: bytes[copied..<i])
                output.append(contentsOf: rewrite(url).utf8)
                copied = end
            }
            i = max(end, i + 1)
        }
        guard copied > 0 else { return text }
        output.append(contentsOf: bytes[copied...])
        return String(decoding: output, as: UTF8.self)
    }

    /// A 1x1 image before `</body>`, or at the end when there is none.
    static func addOpenPixel(_ url: String, to html: String) -> String {
        let image = "<img src=\"\(escape(url))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;width:1px;height:1px;border:0;\">"
        guard let body = html.range(of: "</body>", options: [.caseInsensitive, .backwards]) else { return html + image }
        var result = html
        result.insert(contentsOf: image, at: body.lowerBound)
        return result
    }

    // MARK: Helpers

    static func isWebURL(_ url: String) -> Bool {
        hasWebScheme(Array(url.utf8.prefix(8)), at: 0)
    }

    private static func hasWebScheme(_ bytes: [UInt8], at i: Int) -> Bool {
        let scheme = Array("http".utf8)
        guard i + 7 <= bytes.count, (0..<4).allSatisfy({ lower(bytes[i + $0]) == scheme[$0] }) else { return false }
        var j = i + 4
        if lower(bytes[j]) == UInt8(ascii: "s") { j += 1 }
        return j + 3 <= bytes.count && bytes[j] == UInt8(ascii: ":") && bytes[j + 1] == UInt8(ascii: "/") && bytes[j + 2] == UInt8(ascii: "/")
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        let b = lower(byte)
        return (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }

    private static func skipSpaces(_ bytes: [UInt8], from index: Int) -> Int {
        var i = index
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        return i
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

    static func escape(_ value: String) -> String {
        guard value.contains(where: { "&\"'<>".contains($0) }) else { return value }
        var result = ""
        result.reserveCapacity(value.utf8.count + 16)
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }
}
