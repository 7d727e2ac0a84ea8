import Foundation

/// Reads bounce and complaint reports handed to `kring mail ingest-dsn`: `multipart/report` with
/// `report-type=delivery-status` (RFC 3464, also `message/global-delivery-status`, RFC 6533) or
/// `report-type=feedback-report` (ARF, RFC 5965).
public enum DSNParser {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notAReport
        case noRecipients

        public var description: String {
            switch self {
            case .notAReport:
                "not a delivery status notification or feedback report (no multipart/report with a delivery-status or feedback-report part)"
            case .noRecipients: "the report names no recipient"
            }
        }
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws(Failure) -> MailFeedback {
        let message = MIMEEntity(parsing: bytes)
        // Some servers wrap the report in another multipart; look for it anywhere.
        for entity in message.allEntities where entity.contentType.value == "multipart/report" {
            for part in entity.parts {
                switch part.contentType.value {
                case "message/delivery-status", "message/global-delivery-status":
                    return try deliveryStatus(part, report: entity)
                case "message/feedback-report":
                    return try feedbackReport(part, report: entity)
                default:
                    continue
                }
            }
        }
        throw Failure.notAReport
    }

    private static func deliveryStatus(_ part: MIMEEntity, report: MIMEEntity) throws(Failure) -> MailFeedback {
        let groups = fieldGroups(part.decodedBody)
        guard let perMessage = groups.first else { throw Failure.noRecipients }
        var recipients: [MailFeedback.Recipient] = []
        for group in groups.dropFirst() {
            let final = field(group, "Final-Recipient").flatMap(plainAddress)
            let original = field(group, "Original-Recipient").flatMap(plainAddress)
            guard let address = original ?? final else { continue }
            let action = field(group, "Action")?.lowercased()
            let status = field(group, "Status").flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "(" }).first.map(String.init) }
            let diagnostic = field(group, "Diagnostic-Code")
            recipients.append(
                .init(
                    address: address, finalRecipient: final, originalRecipient: original, action: action, status: status,
                    diagnosticCode: diagnostic, kind: kind(action: action, status: status, diagnostic: diagnostic)))
        }
        guard !recipients.isEmpty else { throw Failure.noRecipients }
        return MailFeedback(
            type: .deliveryStatus, recipients: recipients, reporter: field(perMessage, "Reporting-MTA"),
            feedbackType: nil, originalMessageID: originalHeaders(report)?.header("Message-ID").map(stripBrackets))
    }

    private static func feedbackReport(_ part: MIMEEntity, report: MIMEEntity) throws(Failure) -> MailFeedback {
        let fields = fieldGroups(part.decodedBody).first ?? []
        let feedbackType = field(fields, "Feedback-Type")?.lowercased()
        let original = originalHeaders(report)
        // Providers often redact Original-Rcpt-To; the returned message's To then names the recipient.
        let rcptTo = fields.filter { $0.name.lowercased() == "original-rcpt-to" }.compactMap { plainAddress($0.value) }
        let addresses = rcptTo.isEmpty ? (original?.header("To").flatMap(plainAddress).map { [$0] } ?? []) : rcptTo
        var recipients: [MailFeedback.Recipient] = []
        if feedbackType == "abuse" || feedbackType == "fraud" {
            recipients = addresses.map {
                .init(address: $0, finalRecipient: nil, originalRecipient: $0, action: nil, status: nil, diagnosticCode: nil, kind: .complaint)
            }
            guard !recipients.isEmpty else { throw Failure.noRecipients }
        }
        return MailFeedback(
            type: .feedbackReport, recipients: recipients, reporter: field(fields, "User-Agent"),
            feedbackType: feedbackType, originalMessageID: original?.header("Message-ID").map(stripBrackets))
    }

    /// RFC 3464 2.3: failed with 5.x.x is permanent; without a status the diagnostic's SMTP code decides;
    /// when neither says, the failure is taken as temporary rather than suppress an address on a guess.
    public static func kind(action: String?, status: String?, diagnostic: String?) -> MailFeedback.Kind {
        switch action {
        case "delayed": return .delayed
        case "delivered", "relayed", "expanded": return .delivered
        default:
            let statusClass = status?.first ?? diagnostic.flatMap(diagnosticClass)
            return statusClass == "5" ? .hardBounce : .softBounce
        }
    }

    /// `smtp; 550 5.1.1 ...` gives `5`.
    private static func diagnosticClass(_ diagnostic: String) -> Character? {
        let text = diagnostic.split(separator: ";", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let first = text.first, "245".contains(first), text.prefix(3).allSatisfy(\.isNumber) else { return nil }
        return first
    }

    /// The headers of the message the report returned (`message/rfc822` or `text/rfc822-headers`).
    private static func originalHeaders(_ report: MIMEEntity) -> MIMEEntity? {
        guard
            let part = report.parts.first(where: {
                ["message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"].contains($0.contentType.value)
            })
        else { return nil }
        return MIMEEntity(parsing: part.decodedBody)
    }

    /// Groups of `Name: value` fields separated by blank lines.
    static func fieldGroups(_ body: [UInt8]) -> [[(name: String, value: String)]] {
        var groups: [[(name: String, value: String)]] = []
        var rest = body[...]
        while !rest.isEmpty {
            // Skip blank lines between groups.
            while let first = rest.first, first == 0x0D || first == 0x0A { rest = rest.dropFirst() }
            guard !rest.isEmpty else { break }
            let (fields, consumed) = MIMEEntity.splitHeaders(Array(rest))
            if !fields.isEmpty { groups.append(fields) }
            rest = rest.dropFirst(max(consumed, 1))
        }
        return groups
    }

    private static func field(_ group: [(name: String, value: String)], _ name: String) -> String? {
        group.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// `rfc822; <Anna@Example.nl>` or `Anna <anna@example.nl>` gives `anna@example.nl`.
    static func plainAddress(_ value: String) -> String? {
        var text = Substring(value)
        if let semicolon = text.firstIndex(of: ";") {
            let type = text[..<semicolon].trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "rfc822" || type == "utf-8" else { return nil }
            text = text[text.index(after: semicolon)...]
        }
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        let address = text.trimmingCharacters(in: .whitespaces).lowercased()
        return address.contains("@") ? address : nil
    }

    private static func stripBrackets(_ value: String) -> String {
        value.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t"))
    }
}
