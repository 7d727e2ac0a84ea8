import Foundation
import KringDatabase
import PostgresNIO

/// Whom a mail goes to: a customer (B2C) or a contact at an organisation (B2B).
public enum Recipient: Sendable, Hashable {
    case customer(UUID)
    case contact(UUID)

    public var customerID: UUID? { if case .customer(let id) = self { id } else { nil } }
    public var contactID: UUID? { if case .contact(let id) = self { id } else { nil } }

    /// From a row's `customer_id, contact_id` (exactly one is set, see `sends_one_recipient`).
    init?(customerID: UUID?, contactID: UUID?) {
        if let customerID { self = .customer(customerID) } else if let contactID { self = .contact(contactID) } else { return nil }
    }

    /// For the audit log: subject type and id.
    var auditSubject: (type: String, id: String) {
        switch self {
        case .customer(let id): ("customer", id.uuidString.lowercased())
        case .contact(let id): ("contact", id.uuidString.lowercased())
        }
    }
}

/// One send a worker holds: the recipient and what the mail is about.
public struct ClaimedSend: Sendable, Equatable {
    public let id: UUID
    public let campaignID: UUID
    public let recipient: Recipient
    public let email: String
    public let variant: String?
    public let context: [String: String]
    /// This attempt's number (1 for the first).
    public let attempt: Int
    public let step: Int
    public let occurrence: String
}

/// The queue of sends: claimed with `FOR UPDATE SKIP LOCKED`, so any number of workers share it, and held under a
/// lease: a worker that dies leaves its sends to be claimed again when the lease ends. A send marked `sent` is
/// never claimed again.
public enum Sends {
    /// Claims up to `limit` due sends of running campaigns (most urgent first), within the library's rate.
    public static func claim(
        limit: Int, worker: String, lease: TimeInterval, ratePerMinute: Int?, now: Date,
        in tx: TenantTransaction
    ) async throws -> [ClaimedSend] {
        var limit = limit
        if let rate = ratePerMinute {
            try await tx.query("INSERT INTO send_windows (minute) VALUES (date_trunc('minute', \(now))) ON CONFLICT DO NOTHING")
            var claimed = 0
            for try await count in try await tx.query("SELECT claimed FROM send_windows WHERE minute = date_trunc('minute', \(now)) FOR UPDATE")
                .decode(Int.self)
            {
                claimed = count
            }
            limit = min(limit, rate - claimed)
            guard limit > 0 else { return [] }
        }
        // Right after a large snapshot the table's statistics still say "a few sends", and the planner would then
        // collect and sort every due send of the campaign for each claim (100 ms at 100,000 sends). Without sorting
        // it walks sends_due in (priority, due_at) order and stops at the limit, whatever the statistics say.
        for try await _ in try await tx.query("SELECT set_config('enable_sort', 'off', true)").decode(String.self) {}
        let rows = try await tx.query(
            """
            UPDATE sends s SET status = 'sending', due_at = \(now.addingTimeInterval(lease)), attempts = s.attempts + 1, claimed_by = \(worker)
            FROM (SELECT q.id FROM sends q
                  WHERE q.status IN ('pending', 'sending') AND q.due_at <= \(now)
                    AND q.campaign_id IN (SELECT c.id FROM campaigns c WHERE c.state IN ('sending', 'active')
                                          OR (c.kind = 'transactional' AND c.state NOT IN ('paused', 'cancelled')))
                  ORDER BY q.priority, q.due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) picked
            WHERE s.id = picked.id
            RETURNING s.id, s.campaign_id, s.customer_id, s.contact_id, s.email, s.variant, s.context::text, s.attempts, s.step, s.occurrence
            """)
        var sends: [ClaimedSend] = []
        for try await (id, campaign, customer, contact, email, variant, context, attempt, step, occurrence)
            in rows.decode((UUID, UUID, UUID?, UUID?, String, String?, String, Int, Int, String).self)
        {
            guard let recipient = Recipient(customerID: customer, contactID: contact) else {
                throw UnreadableColumn(column: "customer_id, contact_id", type: Recipient.self, reason: "both NULL")
            }
            // Every writer of sends.context stores string values; anything else is an unreadable row, not an empty context.
            let values = try UnreadableColumn.json([String: String].self, context, column: "context")
            sends.append(
                ClaimedSend(
                    id: id, campaignID: campaign, recipient: recipient, email: email, variant: variant,
                    context: values, attempt: attempt, step: step, occurrence: occurrence))
        }
        if ratePerMinute != nil, !sends.isEmpty {
            try await tx.query("UPDATE send_windows SET claimed = claimed + \(sends.count) WHERE minute = date_trunc('minute', \(now))")
        }
        return sends
    }

    /// The relay took these mails: their sends are sent for good (only those the worker still holds).
    public static func markSent(_ mails: [(id: UUID, messageID: String)], worker: String, now: Date, in tx: TenantTransaction) async throws {
        guard !mails.isEmpty else { return }
        try await tx.query(
            """
            WITH done AS (
                UPDATE sends s SET status = 'sent', sent_at = \(now), message_id = m.message_id, last_error = NULL
                FROM unnest(\(mails.map(\.id)), \(mails.map(\.messageID))) AS m (id, message_id)
                WHERE s.id = m.id AND s.status = 'sending' AND s.claimed_by = \(worker)
                RETURNING s.id, s.campaign_id, s.customer_id, s.contact_id
            )
            INSERT INTO campaign_events (campaign_id, customer_id, contact_id, kind, at, send_id)
            SELECT campaign_id, customer_id, contact_id, 'sent', \(now), id FROM done
            """)
    }

    /// Settles sends that will not be mailed now: `retryAt` set puts them back in the queue, otherwise they end in
    /// `status` (failed, suppressed, skipped) with the reason.
    public static func settle(_ ids: [UUID], status: String, reason: String, retryAt: Date?, worker: String, in tx: TenantTransaction) async throws {
        guard !ids.isEmpty else { return }
        if let retryAt {
            try await tx.query(
                """
                UPDATE sends SET status = 'pending', due_at = \(retryAt), last_error = \(reason), claimed_by = NULL
                WHERE id = ANY(\(ids)) AND status = 'sending' AND claimed_by = \(worker)
                """)
        } else {
            try await tx.query(
                """
                UPDATE sends SET status = \(status), last_error = \(reason)
                WHERE id = ANY(\(ids)) AND status = 'sending' AND claimed_by = \(worker)
                """)
        }
    }

    /// Which customers' latest statement on `topic` is `confirmed` (and who is still a customer at all).
    static func confirmed(_ customers: [UUID], topic: String?, in tx: TenantTransaction) async throws -> Set<UUID> {
        guard !customers.isEmpty else { return [] }
        var found: Set<UUID> = []
        // Two statements rather than one with "no topic OR subscribed": PostgreSQL answered that OR by hashing
        // every subscriber of the list for each batch. The ids bound on consent_state too, so that its index is
        // probed per customer even when its statistics lag behind a large import.
        let rows =
            if let topic {
                try await tx.query(
                    """
                    SELECT c.id FROM consent_state k JOIN customers c ON c.id = k.customer_id
                    WHERE k.customer_id = ANY(\(customers)) AND k.topic = \(topic) AND k.status = 'confirmed'
                      AND c.erased_at IS NULL AND c.merged_into IS NULL
                    """)
            } else {
                try await tx.query("SELECT c.id FROM customers c WHERE c.id = ANY(\(customers)) AND c.erased_at IS NULL AND c.merged_into IS NULL")
            }
        for try await id in rows.decode(UUID.self) { found.insert(id) }
        return found
    }

    /// Which contacts still exist and, with a `topic`, whose latest statement on it is opted in or confirmed.
    static func subscribedContacts(_ contacts: [UUID], topic: String?, in tx: TenantTransaction) async throws -> Set<UUID> {
        guard !contacts.isEmpty else { return [] }
        var found: Set<UUID> = []
        let rows =
            if let topic {
                try await tx.query(
                    sql: """
                        SELECT ct.id FROM contacts ct WHERE ct.id = ANY(\(contacts)) AND \(Snapshot.contactSubscribed(topic: "\(topic)"))
                        """)
            } else {
                try await tx.query("SELECT id FROM contacts WHERE id = ANY(\(contacts))")
            }
        for try await id in rows.decode(UUID.self) { found.insert(id) }
        return found
    }
}
