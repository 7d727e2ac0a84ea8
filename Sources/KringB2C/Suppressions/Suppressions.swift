import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// The library's do-not-mail list: SHA-256 hashes of addresses that bounced hard, complained, were erased or
/// unsubscribed from all marketing mail. Campaign sends check it before every delivery (`suppressed`).
public enum Suppressions {
    /// Why an address is on the list (the `reason` column).
    public enum Reason: String, Sendable, CaseIterable {
        case hardBounce = "hard_bounce"
        case complaint
        case erased
        /// Unsubscribed from all marketing mail; service mail (a sign-up confirmation, a reminder) still goes.
        case unsubscribed

        /// Whether the reason blocks service mail too, not only marketing.
        var blocksServiceMail: Bool { self != .unsubscribed }

        /// The timeline event written on the customers with the address.
        var timelineEvent: String? {
            switch self {
            case .hardBounce: "mail.bounced"
            case .complaint: "mail.complaint"
            case .erased: nil
            case .unsubscribed: "mail.unsubscribed"
            }
        }
    }

    /// What `suppress` changed.
    public struct Outcome: Sendable, Equatable {
        /// False when the address was already on the list; nothing else was then written.
        public let added: Bool
        /// Customers with this address, each given a timeline event.
        public let customerIDs: [UUID]

        public init(added: Bool, customerIDs: [UUID]) {
            self.added = added
            self.customerIDs = customerIDs
        }
    }

    /// Puts `email` on the list for `reason`, writes a `mail.bounced`, `mail.complaint` or `mail.unsubscribed` event on the timeline of
    /// every customer with that address, and audits it. An address already on the list is left as it is, so
    /// ingesting the same report twice changes nothing; only an `unsubscribed` entry is raised to a reason that
    /// blocks all mail (a later hard bounce or complaint).
    public static func suppress(
        _ email: EmailAddress, reason: Reason, detail: String? = nil, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Outcome {
        let hash = CustomerPrivacy.emailHash(email.value)
        let inserted = try await tx.query(
            """
            INSERT INTO suppressions (email_sha256, reason, created_at) VALUES (\(hash), \(reason.rawValue), \(now))
            ON CONFLICT (email_sha256) DO UPDATE SET reason = EXCLUDED.reason
                WHERE suppressions.reason = \(Reason.unsubscribed.rawValue) AND EXCLUDED.reason <> \(Reason.unsubscribed.rawValue)
            RETURNING 1
            """)
        var added = false
        for try await _ in inserted { added = true }
        guard added else { return Outcome(added: false, customerIDs: []) }

        // The audit row names the hash, not the address: the log outlives the customer.
        let hashHex = hash.map { String(format: "%02x", $0) }.joined()
        try await TenantAudit.record(
            "suppression.added", subjectType: "suppression", subjectID: hashHex, by: actor,
            details: ["reason": reason.rawValue], at: now, in: tx)
        var customers: [UUID] = []
        if let event = reason.timelineEvent {
            let rows = try await tx.query(
                """
                SELECT id FROM customers WHERE email = \(email.value) AND erased_at IS NULL AND merged_into IS NULL ORDER BY id
                """)
            for try await id in rows.decode(UUID.self) { customers.append(id) }
            let subject = detail.map { String($0.prefix(200)) }
            for id in customers {
                try await Timeline.recordSystemEvent(event, customerID: id, actor: actor, subject: subject, at: now, in: tx)
                try await TenantAudit.record(
                    event, subjectType: "customer", subjectID: id.uuidString.lowercased(), by: actor,
                    details: ["reason": reason.rawValue], at: now, in: tx)
            }
        }
        return Outcome(added: true, customerIDs: customers)
    }

    /// Which of `emails` (lower-case addresses) may not be mailed: hard bounces, complaints and erasures block every
    /// mail, an unsubscribe only marketing mail. One query for the whole batch.
    public static func suppressed(_ emails: [String], marketing: Bool, in tx: TenantTransaction) async throws -> Set<String> {
        guard !emails.isEmpty else { return [] }
        let byHash = Dictionary(emails.map { (CustomerPrivacy.emailHash($0), $0) }) { first, _ in first }
        let blocking = Reason.allCases.filter { marketing || $0.blocksServiceMail }.map(\.rawValue)
        let rows = try await tx.query(
            """
            SELECT email_sha256 FROM suppressions WHERE email_sha256 = ANY(\(byHash.keys.map { ByteBuffer(bytes: $0) })) AND reason = ANY(\(blocking))
            """)
        var found: Set<String> = []
        for try await hash in rows.decode(Data.self) { if let email = byHash[hash] { found.insert(email) } }
        return found
    }

    /// The reason `email` is on the list, or nil.
    public static func reason(for email: EmailAddress, in tx: TenantTransaction) async throws -> String? {
        let rows = try await tx.query("SELECT reason FROM suppressions WHERE email_sha256 = \(CustomerPrivacy.emailHash(email.value))")
        for try await reason in rows.decode(String.self) { return reason }
        return nil
    }
}
