import Foundation

/// A parsed MIME entity: unfolded header fields, and either a body or, for `multipart/*`, its parts.
///
/// Lenient by design: it reads what mail servers send back (bounces, feedback reports), not only what Kring writes.
public struct MIMEEntity: Sendable {
    public let headers: [(name: String, value: String)]
    /// The body as it stands in the message (still transfer-encoded); empty for a multipart entity.
    public let rawBody: [UInt8]
    public let parts: [MIMEEntity]

    static let maxDepth = 8

    public init(parsing bytes: some Collection<UInt8>) {
        self.init(bytes: Array(bytes), depth: 0)
    }

    private init(bytes: [UInt8], depth: Int) {
        let (headers, bodyStart) = Self.splitHeaders(bytes)
        self.headers = headers
        let body = Array(bytes[bodyStart...])
        let type = Self.contentType(of: headers)
        if type.value.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], !boundary.isEmpty, depth < Self.maxDepth {
            parts = Self.split(body, boundary: boundary).map { MIMEEntity(bytes: $0, depth: depth + 1) }
            rawBody = []
        } else {
            parts = []
            rawBody = body
        }
    }

    /// The first field of that name, unfolded.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// `type/subtype` in lower case (default `text/plain`), with parameters keyed in lower case.
    public var contentType: (value: String, parameters: [String: String]) { Self.contentType(of: headers) }

    /// The body with its transfer encoding (quoted-printable, base64) undone.
    public var decodedBody: [UInt8] {
        switch header("Content-Transfer-Encoding")?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "quoted-printable":
            return QuotedPrintable.decode(rawBody)
        case "base64":
            let text = String(decoding: rawBody.filter { $0 > 0x20 }, as: UTF8.self)
            return Data(base64Encoded: text, options: .ignoreUnknownCharacters).map(Array.init) ?? []
        default:
            return rawBody
        }
    }

    /// The decoded body as text, read in the part's charset (UTF-8 and ISO-8859-1 known; UTF-8 otherwise).
    public var text: String {
        let bytes = decodedBody
        if let charset = contentType.parameters["charset"]?.lowercased(), ["iso-8859-1", "latin1", "us-ascii", "windows-1252"].contains(charset),
            let latin = String(bytes: bytes, encoding: charset == "windows-1252" ? .windowsCP1252 : .isoLatin1)
        {
            return latin
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// All entities below this one, depth first, this one included.
    public var allEntities: [MIMEEntity] { [self] + parts.flatMap(\.allEntities) }

    // MARK: - Parsing

    static func splitHeaders(_ bytes: [UInt8]) -> ([(name: String, value: String)], Int) {
        var headers: [(name: String, value: String)] = []
        var index = 0
        var current: [UInt8]?
        func flush() {
            guard let line = current, let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            let name = String(decoding: line[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if !name.isEmpty { headers.append((name, value)) }
        }
        while index < bytes.count {
            var end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let next = min(end + 1, bytes.count)
            if end > index, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = Array(bytes[index..<end])
            if line.isEmpty {
                flush()
                return (headers, next)
            }
            if line[0] == 0x20 || line[0] == 0x09, let folded = current {
                current = folded + line  // unfolding: CRLF removed, the white space kept
            } else {
                flush()
                current = line
            }
            index = next
        }
        flush()
        return (headers, bytes.count)
    }

    static func contentType(of headers: [(name: String, value: String)]) -> (value: String, parameters: [String: String]) {
        guard let raw = headers.first(where: { $0.name.lowercased() == "content-type" })?.value else { return ("text/plain", [:]) }
        let (value, parameters) = parseParameters(raw)
        return (value.isEmpty ? "text/plain" : value.lowercased(), parameters)
    }

    /// `value; name=token; name="quoted \" string"` into the value and its parameters.
    static func parseParameters(_ raw: String) -> (String, [String: String]) {
        var fields: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        for character in raw {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if character == "\\" && inQuotes {
                escaped = true
                continue
            }
            if character == "\"" {
                inQuotes.toggle()
                continue
            }
            if character == ";" && !inQuotes {
                fields.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        fields.append(current)
        var parameters: [String: String] = [:]
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "=") else { continue }
            let name = field[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            parameters[name] = field[field.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return (fields[0].trimmingCharacters(in: .whitespaces), parameters)
    }

    /// The parts between `--boundary` lines, without the line break before each delimiter.
    static func split(_ body: [UInt8], boundary: String) -> [[UInt8]] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [[UInt8]] = []
        var partStart: Int?
        var index = 0
        while index < body.count {
            var end = body[index...].firstIndex(of: UInt8(ascii: "\n")) ?? body.count
            let next = min(end + 1, body.count)
            if end > index, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = body[index..<end]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let isClose = rest.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")])
                if isClose || rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    if let start = partStart {
                        var stop = index
                        if stop > start, body[stop - 1] == UInt8(ascii: "\n") { stop -= 1 }
                        if stop > start, body[stop - 1] == UInt8(ascii: "\r") { stop -= 1 }
                        parts.append(Array(body[start..<max(start, stop)]))
                    }
                    if isClose { return parts }
                    partStart = next
                }
            }
            index = next
        }
        if let start = partStart, start < body.count { parts.append(Array(body[start...])) }
        return parts
    }
}
