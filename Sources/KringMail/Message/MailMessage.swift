import Foundation

/// One e-mail to one recipient, as a campaign or a test sends it: both body parts, the library's From and
/// Reply-To, and the RFC 8058 unsubscribe link.
///
/// Every header value is checked when the message is made (CR, LF and other controls are refused), so a
/// `MailMessage` that exists can always be written.
public struct MailMessage: Sendable, Equatable {
    public let from: MailAddress
    public let replyTo: MailAddress?
    public let to: MailAddress
    /// The envelope sender (`MAIL FROM`), where bounces go; the From address when nil.
    public let returnPath: String?
    public let subject: String
    public let text: String
    public let html: String?
    /// Further fields, e.g. `X-Kring-Campaign`; names that Kring writes itself are refused.
    public let extraHeaders: [(name: String, value: String)]
    /// `List-Unsubscribe: <https://...>`.
    public let unsubscribeURL: URL?
    /// Adds `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a POST to the URL unsubscribes.
    public let oneClickUnsubscribe: Bool
    /// Without the angle brackets: `random@sender-domain`.
    public let messageID: String

    /// Fields the writer owns; an extra header may not replace them.
    static let reservedHeaders: Set<String> = [
        "from", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post", "return-path", "sender",
    ]

    /// One-click unsubscribe (RFC 8058) needs an https URL. Plain http is accepted only on this machine's loopback
    /// address, where a developer's local run writes its mail to a folder and nobody else can follow the link.
    public static func acceptsUnsubscribeURL(_ url: URL) -> Bool {
        let string = url.absoluteString
        guard let host = url.host?.lowercased(), !host.isEmpty,
            !string.contains(">"), !string.contains(" "), !string.unicodeScalars.contains(where: HeaderText.isForbidden)
        else { return false }
        switch url.scheme?.lowercased() {
        case "https": return true
        case "http":
            let octets = host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
            let loopbackIPv4 = octets.count == 4 && !octets.contains(nil) && octets[0] == 127
            return loopbackIPv4 || host == "localhost" || host == "::1" || host == "[::1]"
        default: return false
        }
    }

    public init(
        from: MailAddress, replyTo: MailAddress? = nil, to: MailAddress, returnPath: String? = nil, subject: String, text: String,
        html: String? = nil, extraHeaders: [(name: String, value: String)] = [], unsubscribeURL: URL? = nil,
        oneClickUnsubscribe: Bool = true, messageID: String? = nil
    ) throws(MailError) {
        try HeaderText.check(subject, field: "Subject")
        for (name, value) in extraHeaders {
            guard HeaderText.isFieldName(name), !Self.reservedHeaders.contains(name.lowercased()) else { throw MailError.invalidHeader(name: name) }
            try HeaderText.check(value, field: name)
        }
        if let unsubscribeURL, !Self.acceptsUnsubscribeURL(unsubscribeURL) { throw MailError.invalidUnsubscribeURL }
        if let messageID {
            guard messageID.contains("@"), messageID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "<" && $0 != ">" })
            else { throw MailError.invalidHeader(name: "Message-ID") }
        }
        self.from = from
        self.replyTo = replyTo
        self.to = to
        var envelopeSender: String?
        if let returnPath { envelopeSender = try MailAddress(returnPath).address }
        self.returnPath = envelopeSender
        self.subject = subject
        self.text = text
        self.html = html
        self.extraHeaders = extraHeaders
        self.unsubscribeURL = unsubscribeURL
        self.oneClickUnsubscribe = oneClickUnsubscribe
        self.messageID = messageID ?? Self.newMessageID(domain: from.messageIDDomain)
    }

    /// `<128 random bits in hex>@domain`: unique without coordination between workers.
    public static func newMessageID(domain: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return randomHex(bytes: 16, using: &generator) + "@" + domain
    }

    /// The `MAIL FROM` address.
    public var envelopeSender: String { returnPath ?? from.address }

    /// An international address in the envelope or the headers: the mail goes only with SMTPUTF8 (RFC 6531), its
    /// header addresses as UTF-8 (RFC 6532).
    public var needsSMTPUTF8: Bool {
        [from, to].contains(where: \.isInternational) || replyTo?.isInternational == true || !envelopeSender.unicodeScalars.allSatisfy(\.isASCII)
    }

    public static func == (lhs: MailMessage, rhs: MailMessage) -> Bool {
        lhs.from == rhs.from && lhs.replyTo == rhs.replyTo && lhs.to == rhs.to && lhs.returnPath == rhs.returnPath
            && lhs.subject == rhs.subject && lhs.text == rhs.text && lhs.html == rhs.html
            && lhs.extraHeaders.elementsEqual(rhs.extraHeaders, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.unsubscribeURL == rhs.unsubscribeURL && lhs.oneClickUnsubscribe == rhs.oneClickUnsubscribe && lhs.messageID == rhs.messageID
    }
}

func randomHex(bytes count: Int, using generator: inout some RandomNumberGenerator) -> String {
    (0..<count).map { _ in hexByte(UInt8.random(in: .min ... .max, using: &generator)) }.joined().lowercased()
}
