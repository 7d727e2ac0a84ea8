/// A streaming CSV tokenizer (RFC 4180 and what library systems really export): `;` or `,` separators,
/// quoted fields with separators, doubled quotes and line breaks inside, CRLF or LF line ends.
///
/// It is fed chunks of bytes and hands out whole records, so a file is never held in memory whole.
/// Fields stay bytes: decoding (UTF-8 or Windows-1252) is the caller's, per field.
public struct CSVParser: Sendable {
    /// One record: its fields' bytes back to back in one buffer (one allocation per record, not one per field).
    public struct Record: Sendable {
        /// The 1-based line on which the record starts.
        public let line: Int
        @usableFromInline let bytes: [UInt8]
        /// Where each field ends in `bytes`.
        @usableFromInline let ends: [Int]

        @inlinable public var count: Int { ends.count }

        @inlinable public subscript(_ index: Int) -> ArraySlice<UInt8> {
            bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
        }

        public var fields: [ArraySlice<UInt8>] { (0..<count).map { self[$0] } }
    }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    public let separator: UInt8
    private var state = State.fieldStart
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    /// Where the current field begins in `bytes`.
    private var fieldStart = 0
    private var line = 1
    private var recordLine = 1
    private var skipLineFeed = false

    public init(separator: UInt8) {
        self.separator = separator
    }

    private static let quote = UInt8(ascii: "\"")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Tokenizes `bytes`, calling `emit` for every record completed in them.
    public mutating func feed(_ bytes: [UInt8], emit: (Record) throws -> Void) rethrows {
        // Concrete overloads: the importers live in other modules, where a generic call would run unspecialised.
        try tokenize(bytes, emit: emit)
    }

    public mutating func feed(_ bytes: ArraySlice<UInt8>, emit: (Record) throws -> Void) rethrows {
        try tokenize(bytes, emit: emit)
    }

    private mutating func tokenize(_ bytes: some Collection<UInt8>, emit: (Record) throws -> Void) rethrows {
        for byte in bytes {
            if skipLineFeed {
                skipLineFeed = false
                if byte == Self.lf { continue }
            }
            switch state {
            case .quoted:
                if byte == Self.quote {
                    state = .quoteInQuoted
                } else {
                    if byte == Self.lf { line += 1 }
                    self.bytes.append(byte)
                }
            case .quoteInQuoted:
                if byte == Self.quote {
                    self.bytes.append(byte)  // "" inside quotes
                    state = .quoted
                } else if byte == separator {
                    endField()
                } else if byte == Self.lf || byte == Self.cr {
                    try endRecord(byte, emit: emit)
                } else {
                    self.bytes.append(byte)  // lenient: text after a closing quote
                    state = .unquoted
                }
            case .fieldStart, .unquoted:
                if byte == separator {
                    endField()
                } else if byte == Self.lf || byte == Self.cr {
                    try endRecord(byte, emit: emit)
                } else if byte == Self.quote && state == .fieldStart {
                    state = .quoted
                } else {
                    self.bytes.append(byte)
                    state = .unquoted
                }
            }
        }
    }

    /// Emits the last record when the file does not end with a line break. A file ending inside quotes is an error.
    public mutating func finish(emit: (Record) throws -> Void) throws {
        if state == .quoted { throw UnterminatedQuote(line: recordLine) }
        if state != .fieldStart || !ends.isEmpty || bytes.count > fieldStart {
            endField()
            try emitRecord(emit)
        }
    }

    public struct UnterminatedQuote: Error, Equatable {
        public let line: Int
        public init(line: Int) { self.line = line }
    }

    private mutating func endField() {
        ends.append(bytes.count)
        fieldStart = bytes.count
        state = .fieldStart
    }

    private mutating func endRecord(_ byte: UInt8, emit: (Record) throws -> Void) rethrows {
        endField()
        try emitRecord(emit)
        line += 1
        recordLine = line
        skipLineFeed = byte == Self.cr
    }

    private mutating func emitRecord(_ emit: (Record) throws -> Void) rethrows {
        let record = Record(line: recordLine, bytes: bytes, ends: ends)
        let capacity = bytes.count
        bytes = []
        bytes.reserveCapacity(capacity + 64)
        ends = []
        ends.reserveCapacity(record.count)
        fieldStart = 0
        // A blank line is no record.
        if record.count == 1 && record.bytes.isEmpty { return }
        try emit(record)
    }

    /// `;` or `,`, whichever occurs more often outside quotes in the header line.
    public static func detectSeparator(_ sample: some Collection<UInt8>) -> UInt8 {
        var semicolons = 0
        var commas = 0
        var tabs = 0
        var quoted = false
        for byte in sample {
            if byte == quote { quoted.toggle() }
            if quoted { continue }
            if byte == lf || byte == cr { break }
            if byte == UInt8(ascii: ";") {
                semicolons += 1
            } else if byte == UInt8(ascii: ",") {
                commas += 1
            } else if byte == UInt8(ascii: "\t") {
                tabs += 1
            }
        }
        if tabs > semicolons && tabs > commas { return UInt8(ascii: "\t") }
        return semicolons >= commas && semicolons > 0 ? UInt8(ascii: ";") : UInt8(ascii: ",")
    }
}

/// The text encodings library exports come in.
public enum TextEncoding: String, Sendable, Codable {
    case utf8 = "utf-8"
    case windows1252 = "windows-1252"

    /// UTF-8 unless the sample holds bytes that are not UTF-8 and no multi-byte UTF-8 sequence at all.
    public static func detect(_ sample: [UInt8]) -> TextEncoding {
        if String(validating: sample, as: UTF8.self) != nil { return .utf8 }
        // A chunk may end inside a character: judge by whole sequences.
        var index = 0
        var valid = 0
        var invalid = 0
        while index < sample.count {
            let byte = sample[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC2 ? 2 : 0
            if length > 0, index + length <= sample.count, sample[(index + 1)..<(index + length)].allSatisfy({ $0 & 0xC0 == 0x80 }) {
                valid += 1
                index += length
            } else {
                invalid += 1
                index += 1
            }
        }
        return valid > 0 && valid >= invalid ? .utf8 : .windows1252
    }

    /// Decodes one field; nil when the bytes are not valid in this encoding, or hold NUL (no text column can store it,
    /// so the row is reported as unreadable rather than failing the import).
    public func decode(_ bytes: [UInt8]) -> String? { decodeBytes(bytes) }

    public func decode(_ bytes: ArraySlice<UInt8>) -> String? { decodeBytes(bytes) }

    private func decodeBytes(_ bytes: some Collection<UInt8>) -> String? {
        if bytes.contains(0) { return nil }
        switch self {
        case .utf8: return String(validating: bytes, as: UTF8.self)
        case .windows1252:
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                if byte < 0x80 || byte >= 0xA0 {
                    scalars.append(Unicode.Scalar(byte))
                } else if let scalar = Self.cp1252High[Int(byte - 0x80)] {
                    scalars.append(scalar)
                } else {
                    return nil
                }
            }
            return String(scalars)
        }
    }

    /// Windows-1252's 0x80-0x9F, where it differs from Latin-1 (nil: unassigned).
    private static let cp1252High: [Unicode.Scalar?] = [
        "\u{20AC}", nil, "\u{201A}", "\u{0192}", "\u{201E}", "\u{2026}", "\u{2020}", "\u{2021}",
        "\u{02C6}", "\u{2030}", "\u{0160}", "\u{2039}", "\u{0152}", nil, "\u{017D}", nil,
        nil, "\u{2018}", "\u{2019}", "\u{201C}", "\u{201D}", "\u{2022}", "\u{2013}", "\u{2014}",
        "\u{02DC}", "\u{2122}", "\u{0161}", "\u{203A}", "\u{0153}", nil, "\u{017E}", "\u{0178}",
    ]
}
