import Foundation
import Hummingbird

/// A CSV file for a spreadsheet: `;` between fields (as Dutch Excel reads it), CRLF, UTF-8 with a byte order mark,
/// sent as a download and never cached.
struct CSVDownload {
    private(set) var text = ""

    /// One quoted field. No formulas in a spreadsheet: a cell that starts (after spaces) with = + - @, a tab or a
    /// return is written as text.
    static func field(_ text: String) -> String {
        let start = text.drop { $0 == " " }.first
        let safe = start.map { "=+-@\t\r".contains($0) } == true ? "'" + text : text
        return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A line of fields, each quoted.
    mutating func row(_ fields: [String]) { text += fields.map(Self.field).joined(separator: ";") + "\r\n" }

    /// A line as it is (numbers and fields already quoted).
    mutating func raw(_ line: String) { text += line + "\r\n" }

    func response(filename: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"\(filename)\"",
            ], body: .init(byteBuffer: ByteBuffer(string: "\u{FEFF}" + text)))
    }
}
