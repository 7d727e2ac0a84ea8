import KringCore

/// A mailbox for a header or an envelope: an address and an optional display name.
///
/// Built only through the throwing initialiser, so no address that could break a header (CR, LF and other controls,
/// space, `<`, `>`) ever reaches `MIMEWriter` or an SMTP command. An address may be international (`zoë@...`,
/// RFC 6531): it then goes as UTF-8, and only to a relay that offers SMTPUTF8.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// `local@domain`, lowercased.
    public let address: String
    public let displayName: String?

    public init(_ address: String, name: String? = nil) throws(MailError) {
        // Checked before `EmailAddress`, which trims: a trailing CRLF must be refused, not trimmed away.
        guard address.unicodeScalars.allSatisfy(Self.isAllowed), let email = EmailAddress(address)
        else { throw MailError.invalidAddress(address) }
        if let name, name.unicodeScalars.contains(where: HeaderText.isForbidden) { throw MailError.invalidHeader(name: "display-name") }
        self.address = email.value
        let trimmed = name?.trimmed()
        self.displayName = trimmed?.isEmpty == false ? trimmed : nil
    }

    /// Printable: no C0 or C1 controls, no space, no DEL, no line or paragraph separator, no invisible format
    /// character (zero-width space, bidi overrides, BOM) that would make a lookalike address.
    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x20 && scalar.value != 0x7F && !(0x80...0x9F).contains(scalar.value) && scalar != "\u{2028}" && scalar != "\u{2029}"
            && scalar.properties.generalCategory != .format
    }

    /// Non-ASCII (RFC 6531): such an address needs a relay that offers SMTPUTF8.
    public var isInternational: Bool { !address.unicodeScalars.allSatisfy(\.isASCII) }

    /// The part after `@`.
    public var domain: String { address.split(separator: "@").last.map(String.init) ?? "" }

    /// The right side of a `Message-ID` for mail from this address: its domain, which a Message-ID needs in ASCII.
    /// Kring does not convert an international domain (IDNA), so such a sender's mails use `kring.invalid`; the left
    /// side keeps them unique.
    public var messageIDDomain: String { domain.unicodeScalars.allSatisfy(\.isASCII) ? domain : "kring.invalid" }

    public var description: String { displayName.map { "\($0) <\(address)>" } ?? address }
}
