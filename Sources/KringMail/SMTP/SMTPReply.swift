import NIOCore

/// A complete (possibly multi-line) SMTP reply: `250-first`, `250 last`.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public let code: Int
    /// The text of each line, without code and separator.
    public let lines: [String]

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
    public var isPermanent: Bool { code >= 500 }

    /// The RFC 3463 status at the start of the text, e.g. `5.1.1`.
    public var enhancedStatus: String? {
        guard let first = lines.first?.split(separator: " ", maxSplits: 1).first else { return nil }
        let parts = first.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return String(first)
    }

    public var text: String { lines.joined(separator: " ") }
    public var description: String { "\(code) \(text)" }

    /// The EHLO keywords (upper case) with their parameters: `["PIPELINING": "", "AUTH": "PLAIN LOGIN"]`.
    var extensions: [String: String] {
        var result: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            result[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }
}

/// Splits the byte stream into replies; refuses lines over 2048 bytes and replies over 100 lines.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    private var pending: [String] = []
    private var pendingCode: Int?
    static let maxLineLength = 2048

    struct Malformed: Error, CustomStringConvertible {
        let line: String
        var description: String { "malformed SMTP reply line: \(line.prefix(80))" }
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength { throw Malformed(line: "(no line end in \(buffer.readableBytes) bytes)") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard var line = buffer.readString(length: length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes.count <= Self.maxLineLength, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }),
            let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
            bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-"),
            pendingCode == nil || pendingCode == code, pending.count < 100
        else { throw Malformed(line: line) }
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count > 3, bytes[3] == UInt8(ascii: "-") {
            pendingCode = code
            return .continue
        }
        let reply = SMTPReply(code: code, lines: pending)
        pending = []
        pendingCode = nil
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
