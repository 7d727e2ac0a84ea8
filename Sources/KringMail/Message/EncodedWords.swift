import Foundation

/// Decodes RFC 2047 encoded-words (`=?charset?Q|B?text?=`) in a header value; white space between two
/// adjacent encoded-words is dropped, as the RFC says.
public enum EncodedWords {
    public static func decode(_ value: String) -> String {
        var output = ""
        var rest = Substring(value)
        var pendingSpace = ""
        var previousWasEncoded = false
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, length) = decodeWord(rest) {
                if !previousWasEncoded { output += pendingSpace }
                output += decoded
                pendingSpace = ""
                previousWasEncoded = true
                rest = rest.dropFirst(length)
                continue
            }
            let character = rest.removeFirst()
            if character == " " || character == "\t" {
                pendingSpace.append(character)
                continue
            }
            output += pendingSpace
            pendingSpace = ""
            output.append(character)
            previousWasEncoded = false
        }
        return output + pendingSpace
    }

    private static func decodeWord(_ text: Substring) -> (String, Int)? {
        let parts = text.dropFirst(2).split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("="), parts[2].allSatisfy({ $0 != " " }) else { return nil }
        let charset = parts[0].split(separator: "*").first.map { $0.lowercased() } ?? ""
        let payload = parts[2]
        let bytes: [UInt8]
        switch parts[1].uppercased() {
        case "Q":
            bytes = QuotedPrintable.decode(Array(payload.replacingOccurrences(of: "_", with: " ").utf8))
        case "B":
            guard let data = Data(base64Encoded: String(payload)) else { return nil }
            bytes = Array(data)
        default:
            return nil
        }
        let length = 2 + parts[0].count + 1 + parts[1].count + 1 + payload.count + 2
        let string: String
        switch charset {
        case "iso-8859-1", "latin1": string = String(bytes: bytes, encoding: .isoLatin1) ?? ""
        case "windows-1252": string = String(bytes: bytes, encoding: .windowsCP1252) ?? ""
        default: string = String(decoding: bytes, as: UTF8.self)
        }
        return (string, length)
    }
}
