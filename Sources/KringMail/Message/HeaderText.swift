import Foundation

/// Writes header fields (RFC 5322) with RFC 2047 encoded-words for non-ASCII text, folded below 78 characters.
enum HeaderText {
    /// Characters no header value may hold: CR and LF (header injection) and the other controls except tab.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7F
    }

    static func check(_ value: String, field: String) throws(MailError) {
        if value.unicodeScalars.contains(where: isForbidden) { throw MailError.invalidHeader(name: field) }
    }

    /// A field name: printable ASCII without `:` (RFC 5322 3.6.8).
    static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 76 && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
    }

    /// True when the text must go in encoded-words: non-ASCII, or something a decoder would take for one.
    static func needsEncoding(_ text: String) -> Bool {
        text.utf8.contains { $0 >= 0x80 } || text.contains("=?")
    }

    /// An unstructured field such as `Subject`, folded, ending in CRLF.
    static func unstructured(_ name: String, _ value: String) throws(MailError) -> String {
        try check(value, field: name)
        var folder = Folder(name: name)
        if needsEncoding(value) {
            folder.appendEncoded(value, phrase: false)
        } else {
            // Tabs become spaces so that folding at a space keeps the text.
            let words = value.replacingOccurrences(of: "\t", with: " ").split(separator: " ", omittingEmptySubsequences: false)
            folder.appendWords(words.map(String.init))
        }
        return try folder.finish()
    }

    /// An address field such as `From` or `To`: display names as atoms, quoted strings or encoded-words.
    static func addresses(_ name: String, _ mailboxes: [MailAddress]) throws(MailError) -> String {
        var folder = Folder(name: name)
        for (index, mailbox) in mailboxes.enumerated() {
            let separator = index < mailboxes.count - 1 ? "," : ""
            guard let display = mailbox.displayName else {
                folder.appendWords(["<\(mailbox.address)>\(separator)"])
                continue
            }
            if needsEncoding(display) {
                folder.appendEncoded(display, phrase: true)
            } else if display.utf8.allSatisfy(isAtext) {
                folder.appendWords([display])
            } else {
                let quoted = display.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                folder.appendWords("\"\(quoted)\"".split(separator: " ", omittingEmptySubsequences: false).map(String.init))
            }
            folder.appendWords(["<\(mailbox.address)>\(separator)"])
        }
        return try folder.finish()
    }

    /// RFC 5322 `atext` plus space: a display name made of these needs no quotes.
    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: " "): true
        default: "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }

    /// Puts words on lines of at most 76 characters (plus CRLF), breaking only between words.
    struct Folder {
        private var lines: [String] = []
        private var current: String
        static let limit = 76

        init(name: String) { current = name + ":" }

        mutating func appendWords(_ words: [String]) {
            for word in words {
                // Never break before an empty word: a folded line of white space only is not allowed.
                if !word.isEmpty, current.utf8.count + 1 + word.utf8.count > Self.limit, current.contains(where: { $0 != " " && $0 != ":" }) {
                    lines.append(current)
                    current = ""
                }
                current += " " + word
            }
        }

        /// Encodes `text` as `=?UTF-8?Q?...?=` words (RFC 2047 4.2), each at most 75 characters, each holding whole
        /// characters only. `phrase` restricts the literal characters to those allowed in a display name (5.3).
        mutating func appendEncoded(_ text: String, phrase: Bool) {
            let overhead = " =?UTF-8?Q??=".utf8.count
            var payload = ""
            func room() -> Int { min(75 - (overhead - 1), Self.limit - current.utf8.count - overhead) }
            for scalar in text.unicodeScalars {
                let token = Self.qToken(scalar, phrase: phrase)
                if payload.utf8.count + token.utf8.count > room() {
                    if !payload.isEmpty {
                        current += " =?UTF-8?Q?\(payload)?="
                        payload = ""
                    }
                    if token.utf8.count > room() {
                        lines.append(current)
                        current = ""
                    }
                }
                payload += token
            }
            if !payload.isEmpty { current += " =?UTF-8?Q?\(payload)?=" }
        }

        static func qToken(_ scalar: Unicode.Scalar, phrase: Bool) -> String {
            if scalar == " " { return "_" }
            if scalar.isASCII {
                let byte = UInt8(scalar.value)
                let literal =
                    phrase
                    ? (byte.isASCIIAlphanumeric || "!*+-/".utf8.contains(byte))
                    : (byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "?") && byte != UInt8(ascii: "_"))
                if literal { return String(scalar) }
            }
            return Array(String(scalar).utf8).map { "=" + hexByte($0) }.joined()
        }

        func finish() throws(MailError) -> String {
            let all = lines + [current]
            // RFC 5322 2.1.1: no line may be longer than 998 characters, folded or not.
            guard all.allSatisfy({ $0.utf8.count <= 998 }) else { throw MailError.invalidHeader(name: String(all[0].prefix { $0 != ":" })) }
            return all.joined(separator: "\r\n") + "\r\n"
        }
    }
}

private let hexDigits = Array("0123456789ABCDEF".utf8)

func hexByte(_ byte: UInt8) -> String {
    String(decoding: [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]], as: UTF8.self)
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
