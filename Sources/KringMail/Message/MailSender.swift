import Foundation

/// A library's sender identity: its own From and Reply-To, and the return path where its bounces go.
///
/// Kept per tenant (in `platform.tenants.settings`), so each library's members see their own library as sender.
public struct MailSender: Sendable, Equatable {
    public let from: MailAddress
    public let replyTo: MailAddress?
    /// `MAIL FROM`; the From address when nil.
    public let returnPath: String?

    public init(from: MailAddress, replyTo: MailAddress? = nil, returnPath: String? = nil) throws(MailError) {
        if let returnPath { _ = try MailAddress(returnPath) }
        self.from = from
        self.replyTo = replyTo
        self.returnPath = returnPath?.lowercased()
    }

    /// Reads the tenant settings `mail_from_address`, `mail_from_name`, `mail_reply_to` and `mail_return_path`.
    public init(settings: [String: String]) throws(MailError) {
        guard let address = settings["mail_from_address"] else { throw MailError.invalidConfiguration("The library has no mail_from_address.") }
        var replyTo: MailAddress?
        if let reply = settings["mail_reply_to"] { replyTo = try MailAddress(reply) }
        try self.init(from: MailAddress(address, name: settings["mail_from_name"]), replyTo: replyTo, returnPath: settings["mail_return_path"])
    }

    /// A message from this library.
    public func message(
        to: MailAddress, subject: String, text: String, html: String? = nil, unsubscribeURL: URL? = nil,
        extraHeaders: [(name: String, value: String)] = []
    ) throws(MailError) -> MailMessage {
        try MailMessage(
            from: from, replyTo: replyTo, to: to, returnPath: returnPath, subject: subject, text: text, html: html,
            extraHeaders: extraHeaders, unsubscribeURL: unsubscribeURL)
    }
}
