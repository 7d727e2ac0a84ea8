import Foundation
import NIOCore

/// A `multipart/form-data` body (RFC 7578), as a browser sends a form with a file: its fields by name, files as bytes.
struct MultipartForm: Sendable {
    struct Part: Sendable {
        let name: String
        let filename: String?
        let body: [UInt8]
    }

    let parts: [Part]

    /// Nil when the content type names no boundary or the body is not multipart.
    init?(buffer: ByteBuffer, contentType: String) {
        guard let boundaryRange = contentType.range(of: "boundary=", options: .caseInsensitive) else { return nil }
        var boundary = String(contentType[boundaryRange.upperBound...].prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces)
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else { return nil }
        let bytes = Array(buffer.readableBytesView)
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [Part] = []
        var positions: [Int] = []
        var index = 0
        while let found = Self.find(delimiter, in: bytes, from: index) {
            positions.append(found)
            index = found + delimiter.count
        }
        guard positions.count >= 2 else { return nil }
        for (start, end) in zip(positions, positions.dropFirst()) {
            var from = start + delimiter.count
            guard from + 2 <= bytes.count, bytes[from] == 13, bytes[from + 1] == 10 else { continue }
            from += 2
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: bytes, from: from), headerEnd < end else { continue }
            let headers = String(decoding: bytes[from..<headerEnd], as: UTF8.self)
            var bodyEnd = end
            if bodyEnd >= 2, bytes[bodyEnd - 2] == 13, bytes[bodyEnd - 1] == 10 { bodyEnd -= 2 }
            let bodyStart = headerEnd + 4
            guard bodyStart <= bodyEnd else { continue }
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }) else {
                continue
            }
            guard let name = Self.parameter("name", in: String(disposition)) else { continue }
            parts.append(Part(name: name, filename: Self.parameter("filename", in: String(disposition)), body: Array(bytes[bodyStart..<bodyEnd])))
        }
        self.parts = parts
    }

    func field(_ name: String) -> String? {
        parts.first { $0.name == name && $0.filename == nil }.map { String(decoding: $0.body, as: UTF8.self) }
    }

    func file(_ name: String) -> Part? { parts.first { $0.name == name && $0.filename != nil } }

    private static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            guard pair.lowercased().hasPrefix(name + "=") else { continue }
            var value = String(pair.dropFirst(name.count + 1))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
