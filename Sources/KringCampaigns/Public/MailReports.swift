import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// Reports from the mail provider (a webhook): deliveries, bounces and complaints. A hard bounce or a complaint puts
/// the address on the suppression list; a report naming a send's Message-ID is recorded on that send.
///
/// Processing is idempotent without an `Idempotency-Key`: the suppression list holds an address once and an event
/// is recorded once per send and kind, so a provider delivering the same batch again changes nothing.
public enum MailReports {
    public static let maximumBatch = 1000

    public struct Report: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case bounce, complaint, delivered }
        public enum BounceType: String, Sendable, CaseIterable { case hard, soft }

        public let kind: Kind
        public let email: EmailAddress
        public let messageID: String?
        public let bounceType: BounceType?
        public let detail: String?

        /// Checks one event of the webhook body; errors name `events[index].field`.
        public init(json: [String: Any], index: Int) throws(Problem) {
            var errors: [FieldError] = []
            func field(_ name: String) -> String { "events[\(index)].\(name)" }
            let kind = (json["type"] as? String).flatMap(Kind.init(rawValue:))
            if kind == nil { errors.append(FieldError(field: field("type"), message: "Use bounce, complaint or delivered.")) }
            let email = (json["email"] as? String).flatMap(EmailAddress.init)
            if email == nil { errors.append(FieldError(field: field("email"), message: "Give the recipient's e-mail address.")) }
            var messageID: String?
            if let raw = json["message_id"], !(raw is NSNull) {
                if let text = raw as? String, !text.isEmpty, text.count <= 998 {
                    messageID = text
                } else {
                    errors.append(FieldError(field: field("message_id"), message: "Give the Message-ID as text."))
                }
            }
            var bounceType: BounceType?
            if kind == .bounce {
                bounceType = (json["bounce_type"] as? String).flatMap(BounceType.init(rawValue:))
                if bounceType == nil { errors.append(FieldError(field: field("bounce_type"), message: "Use hard or soft.")) }
            }
            var detail: String?
            if let raw = json["detail"], !(raw is NSNull) {
                if let text = raw as? String {
                    detail = String(text.prefix(1000))
                } else {
                    errors.append(FieldError(field: field("detail"), message: "Give the detail as text."))
                }
            }
            guard errors.isEmpty, let kind, let email else { throw .validation(errors, detail: "Event \(index) is invalid.") }
            self.kind = kind
            self.email = email
            self.messageID = messageID
            self.bounceType = bounceType
            self.detail = detail
        }

        /// The `campaign_events` kind.
        var eventKind: String {
            switch kind {
            case .delivered: "delivered"
            case .complaint: "complained"
            case .bounce: bounceType == .hard ? "bounced_hard" : "bounced_soft"
            }
        }

        var suppression: Suppressions.Reason? {
            switch kind {
            case .complaint: .complaint
            case .bounce where bounceType == .hard: .hardBounce
            default: nil
            }
        }
    }

    public struct Outcome: Sendable, Codable, Equatable {
        public var received = 0
        /// Reports that named a send of this library.
        public var matched = 0
        /// Events newly recorded (a repeated report is not recorded again).
        public var recorded = 0
        /// Addresses newly put on the suppression list.
        public var suppressed = 0
    }

    public static func ingest(_ reports: [Report], by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Outcome {
        var outcome = Outcome(received: reports.count)
        for report in reports {
            if let reason = report.suppression {
                let result = try await Suppressions.suppress(report.email, reason: reason, detail: report.detail, by: actor, now: now, in: tx)
                if result.added { outcome.suppressed += 1 }
            }
            guard let messageID = report.messageID, let send = try await send(messageID: messageID, email: report.email, in: tx) else { continue }
            outcome.matched += 1
            var detail: [String: String] = [:]
            detail["detail"] = report.detail
            detail["bounce_type"] = report.bounceType?.rawValue
            if try await send.record(report.eventKind, detail: detail, at: now, in: tx) { outcome.recorded += 1 }
        }
        return outcome
    }

    /// The send with this Message-ID (with or without angle brackets) to this address.
    static func send(messageID: String, email: EmailAddress, in tx: TenantTransaction) async throws -> MailedSend? {
        let bare = messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<> "))
        let rows = try await tx.query(
            """
            SELECT id FROM sends WHERE message_id = ANY(\([bare, "<\(bare)>"])) AND email = \(email.value) LIMIT 1
            """)
        var found: UUID?
        for try await id in rows.decode(UUID.self) { found = id }
        return try await found.asyncMap { try await MailedSend.find(id: $0, in: tx) } ?? nil
    }
}
