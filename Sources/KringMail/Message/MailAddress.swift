import KringCore

/// A mailbox for a header or an envelope: a plain ASCII address and an optional display name.
///
/// Built only through the throwing initialiser, so no address that could break a header (CR, LF, `<`, `>`,
/// non-ASCII) ever reaches `MIMEWriter` or an SMTP command.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// `local@domain`, lowercased.
    public let address: String
    public let displayName: String?

    public init(_ address: String, name: String? = nil) throws(MailError) {
        // Checked before `EmailAddress`, which trims: a trailing CRLF must be refused, not trimmed away.
        guard address.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
              let email = EmailAddress(address)
        else { throw MailError.invalidAddress(address) }
        if let name, name.unicodeScalars.contains(where: HeaderText.isForbidden) { throw MailError.invalidHeader(name: "display-name") }
        self.address = email.value
        let trimmed = name?.trimmed()
        self.displayName = trimmed?.isEmpty == false ? trimmed : nil
    }

    /// The part after `@`, e.g. for a `Message-ID`.
    public var domain: String { address.split(separator: "@").last.map(String.init) ?? "" }

    public var description: String { displayName.map { "\($0) <\(address)>" } ?? address }
}
