/// What a delivery status notification (RFC 3464) or a complaint report (ARF, RFC 5965) says about the
/// recipients of a message Kring sent.
public struct MailFeedback: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Failed with a 5.x.x status: the address does not take mail; it is suppressed.
        case hardBounce = "hard_bounce"
        /// Failed with a 4.x.x status (or none): worth another try later.
        case softBounce = "soft_bounce"
        case delayed
        case delivered
        /// The recipient marked the message as spam (ARF `abuse` or `fraud`); the address is suppressed.
        case complaint

        /// Whether the address must not be mailed again.
        public var suppresses: Bool { self == .hardBounce || self == .complaint }
    }

    public struct Recipient: Sendable, Equatable {
        /// The address Kring sent to: the original recipient when the report names it, else the final one.
        public var address: String
        public var finalRecipient: String?
        public var originalRecipient: String?
        /// `failed`, `delayed`, `delivered`, `relayed` or `expanded`; nil for a complaint.
        public var action: String?
        /// RFC 3463 status, e.g. `5.1.1`.
        public var status: String?
        public var diagnosticCode: String?
        public var kind: Kind
    }

    public enum ReportType: String, Sendable {
        case deliveryStatus = "delivery-status"
        case feedbackReport = "feedback-report"
    }

    public var type: ReportType
    public var recipients: [Recipient]
    /// `Reporting-MTA` of a DSN, `User-Agent` of a feedback report.
    public var reporter: String?
    /// ARF `Feedback-Type`, e.g. `abuse`.
    public var feedbackType: String?
    /// The `Message-ID` of the message the report is about (without angle brackets), when it came back with it.
    public var originalMessageID: String?
}
