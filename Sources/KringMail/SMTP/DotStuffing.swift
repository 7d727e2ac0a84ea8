import NIOCore

/// The DATA payload (RFC 5321 4.5.2): a `.` at the start of a line is doubled, line ends are CRLF, and the
/// message ends with `CRLF.CRLF`.
enum DotStuffing {
    static func write(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), previous != UInt8(ascii: "\r") { buffer.writeInteger(UInt8(ascii: "\r")) }
            if atLineStart, byte == UInt8(ascii: ".") { buffer.writeInteger(UInt8(ascii: ".")) }
            buffer.writeInteger(byte)
            atLineStart = byte == UInt8(ascii: "\n")
            previous = byte
        }
        if !atLineStart { buffer.writeString("\r\n") }
        buffer.writeString(".\r\n")
    }
}
