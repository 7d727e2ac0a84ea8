import Foundation
import KringCore

/// Turns a `MailMessage` into RFC 5322 bytes: CRLF line ends, 7-bit clean (encoded-words in headers,
/// quoted-printable UTF-8 parts), `multipart/alternative` when there is an HTML part.
public struct MIMEWriter: Sendable {
    /// The clock for the `Date` header.
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func write(_ message: MailMessage) throws(MailError) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return try write(message, using: &generator)
    }

    /// `generator` picks the multipart boundary.
    public func write(_ message: MailMessage, using generator: inout some RandomNumberGenerator) throws(MailError) -> [UInt8] {
        var head = ""
        head += try HeaderText.addresses("From", [message.from])
        if let replyTo = message.replyTo { head += try HeaderText.addresses("Reply-To", [replyTo]) }
        head += try HeaderText.addresses("To", [message.to])
        head += try HeaderText.unstructured("Subject", message.subject)
        head += "Date: \(Self.rfc5322Date(now()))\r\n"
        head += "Message-ID: <\(message.messageID)>\r\n"
        if let url = message.unsubscribeURL {
            head += "List-Unsubscribe: <\(url.absoluteString)>\r\n"
            if message.oneClickUnsubscribe { head += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" }
        }
        for (name, value) in message.extraHeaders { head += try HeaderText.unstructured(name, value) }
        head += "MIME-Version: 1.0\r\n"

        // Bytes from here on: the parts are encoded straight into the message, not through intermediate strings.
        guard let html = message.html else {
            var bytes = Array((head + Self.textPartHeaders("plain") + "\r\n").utf8)
            let bodyStart = bytes.count
            QuotedPrintable.encode(message.text, into: &bytes)
            // The message ends with a line end, as SMTP and mbox readers expect.
            if !bytes[bodyStart...].suffix(2).elementsEqual([0x0D, 0x0A]) { bytes += [0x0D, 0x0A] }
            return bytes
        }
        // `=_` never occurs in quoted-printable output, so the boundary cannot collide with a part's text.
        let boundary = "=_kring_" + randomHex(bytes: 16, using: &generator)
        var bytes = Array((head + "Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"\r\n\r\n").utf8)
        bytes.reserveCapacity(bytes.count + (message.text.utf8.count + html.utf8.count) * 9 / 8 + 400)
        bytes += Array(("--\(boundary)\r\n" + Self.textPartHeaders("plain") + "\r\n").utf8)
        QuotedPrintable.encode(message.text, into: &bytes)
        bytes += Array(("\r\n--\(boundary)\r\n" + Self.textPartHeaders("html") + "\r\n").utf8)
        QuotedPrintable.encode(html, into: &bytes)
        bytes += Array(("\r\n--\(boundary)--\r\n").utf8)
        return bytes
    }

    private static func textPartHeaders(_ subtype: String) -> String {
        "Content-Type: text/\(subtype); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    }

    /// `Fri, 27 Nov 2026 16:20:00 +0000` (RFC 5322 3.3), always in UTC.
    public static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        // No calendar or locale involved.
        let (year, month, day) = CalendarDate.civil(daysSince1970: days)
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4, with Sunday 0)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(day) \(months[month - 1]) \(year) \(two(time / 3600)):\(two(time % 3600 / 60)):\(two(time % 60)) +0000"
    }
}
