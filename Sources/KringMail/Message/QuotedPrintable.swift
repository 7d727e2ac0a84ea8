/// Quoted-printable (RFC 2045 6.7) for UTF-8 text parts: lines of at most 76 characters, `=` and every byte
/// outside printable ASCII escaped, and white space at the end of a line escaped so transports cannot strip it.
///
/// Line breaks of the text (LF, CRLF or CR) become CRLF hard breaks. A leading `.` is left alone: the SMTP
/// transport dot-stuffs it.
public enum QuotedPrintable {
    public static let maxLineLength = 76

    public static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        encode(text, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the encoded text to `output`.
    public static func encode(_ text: String, into output: inout [UInt8]) {
        let bytes = Array(text.utf8)
        output.reserveCapacity(output.count + bytes.count + bytes.count / 8 + 16)
        // Line by line, a line ending at LF, CRLF or a lone CR; the last line may be empty.
        var start = 0
        var index = 0
        while true {
            guard index == bytes.count || bytes[index] == 0x0A || bytes[index] == 0x0D else {
                index += 1
                continue
            }
            encodeLine(bytes[start..<index], into: &output)
            guard index < bytes.count else { break }
            if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
            output.append(0x0D)
            output.append(0x0A)
            index += 1
            start = index
        }
    }

    /// One line, without allocating per byte: this runs for every byte of every mail.
    private static func encodeLine(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        var length = 0
        let last = bytes.endIndex - 1
        for index in bytes.indices {
            let byte = bytes[index]
            let isLast = index == last
            let literal = (byte >= 0x21 && byte <= 0x7E && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !isLast)
            let width = literal ? 1 : 3
            // Keep room for the `=` of a soft break, except for the line's final token, which may end at 76.
            let limit = isLast ? maxLineLength : maxLineLength - 1
            if length + width > limit {
                output.append(UInt8(ascii: "="))
                output.append(0x0D)
                output.append(0x0A)
                length = 0
            }
            if literal {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "="))
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            }
            length += width
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }

    /// Decodes quoted-printable bytes (soft breaks, `=XX` in either case); CRLF hard breaks become LF.
    /// Malformed escapes are kept as they are, as RFC 2045 advises.
    public static func decode(_ encoded: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(encoded)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "=") {
                // Soft line break: `=` followed by optional white space and a line end.
                var next = index + 1
                while next < bytes.count, bytes[next] == 0x20 || bytes[next] == 0x09 { next += 1 }
                if next < bytes.count, bytes[next] == 0x0D || bytes[next] == 0x0A {
                    if bytes[next] == 0x0D, next + 1 < bytes.count, bytes[next + 1] == 0x0A { next += 1 }
                    index = next + 1
                    continue
                }
                if next == bytes.count {
                    index = next
                    continue
                }
                if index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                    output.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                index += 1
                continue
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
