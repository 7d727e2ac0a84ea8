/// How a CSV export is written, settled from its first bytes: every import starts here.
public struct CSVLayout: Sendable, Equatable {
    /// The encoding: the mapping's, else UTF-8 when the file starts with a byte order mark, else detected.
    public let encoding: TextEncoding
    /// The separator: the mapping's (one byte), else detected in the header line.
    public let separator: UInt8
    /// The file started with a UTF-8 byte order mark.
    public let hadByteOrderMark: Bool

    /// Settles the layout from the start of a file and strips a UTF-8 byte order mark from `start`.
    public init(start: inout [UInt8], encoding: TextEncoding?, separator: String?) {
        hadByteOrderMark = start.starts(with: [0xEF, 0xBB, 0xBF])
        if hadByteOrderMark { start.removeFirst(3) }
        let sample = Array(start.prefix(1 << 20))
        self.encoding = encoding ?? (hadByteOrderMark ? .utf8 : TextEncoding.detect(sample))
        self.separator = separator.flatMap { $0.utf8.count == 1 ? $0.utf8.first : nil } ?? CSVParser.detectSeparator(sample)
    }

    public var separatorText: String { String(UnicodeScalar(separator)) }
}
