import NIOCore

/// The DATA payload (RFC 5321 4.5.2): a `.` at the start of a line is doubled, line ends are CRLF, and the
/// message ends with `CRLF.CRLF`.
enum DotStuffing {
    static func write(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 32 + 8)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), previous != UInt8(ascii: "\r") { output.append(UInt8(ascii: "\r")) }
            if atLineStart, byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
            previous = byte
        }
        if !atLineStart { output.append(contentsOf: "\r\n".utf8) }
        output.append(contentsOf: ".\r\n".utf8)
        // One write: byte-wise writes into a ByteBuffer cost a capacity check each.
        buffer.writeBytes(output)
    }
}
