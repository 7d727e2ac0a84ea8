import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A send as the links in its mail see it: whom it went to, for which campaign and list.
public struct MailedSend: Sendable {
    public let id: UUID
    public let campaignID: UUID
    public let recipient: Recipient
    public let email: String
    public let marketing: Bool
    /// The list of a list campaign; nil for a segment mailing or a service mail.
    public let list: SubscriptionList?

    /// The send with `id`, or nil.
    public static func find(id: UUID, in tx: TenantTransaction) async throws -> MailedSend? {
        let rows = try await tx.query(
            """
            SELECT s.id, s.campaign_id, s.customer_id, s.contact_id, s.email, c.purpose, c.list_id FROM sends s JOIN campaigns c ON c.id = s.campaign_id
            WHERE s.id = \(id)
            """)
        var found: (UUID, UUID, UUID?, UUID?, String, String, UUID?)?
        for try await row in rows.decode((UUID, UUID, UUID?, UUID?, String, String, UUID?).self) { found = row }
        guard let (id, campaignID, customerID, contactID, email, purpose, listID) = found else { return nil }
        guard let recipient = Recipient(customerID: customerID, contactID: contactID) else {
            throw UnreadableColumn(column: "customer_id, contact_id", type: Recipient.self, reason: "both NULL")
        }
        let marketing = try UnreadableColumn.enumValue(Campaign.Purpose.self, purpose, column: "purpose") == .marketing
        let list = try await listID.asyncMap { try await SubscriptionLists.find(id: $0, in: tx) }
        return MailedSend(id: id, campaignID: campaignID, recipient: recipient, email: email, marketing: marketing, list: list)
    }

    /// Writes what happened to this mail (`opened`, `clicked`, `unsubscribed`, ...). Kinds recorded once per send
    /// (see the `campaign_events_once` index) are not written twice; answers whether a row was written.
    @discardableResult
    public func record(
        _ kind: String, url: String? = nil, detail: [String: String] = [:], at now: Date, in tx: TenantTransaction
    ) async throws -> Bool {
        try await Self.record(kind, sendID: id, campaignID: campaignID, recipient: recipient, url: url, detail: detail, at: now, in: tx)
    }

    static func record(
        _ kind: String, sendID: UUID, campaignID: UUID, recipient: Recipient, url: String? = nil, detail: [String: String] = [:],
        at now: Date, in tx: TenantTransaction
    ) async throws -> Bool {
        let detail = String(decoding: try JSONEncoder().encode(detail), as: UTF8.self)
        let rows = try await tx.query(
            """
            INSERT INTO campaign_events (campaign_id, customer_id, contact_id, kind, at, send_id, url, detail)
            VALUES (\(campaignID), \(recipient.customerID), \(recipient.contactID), \(kind), \(now), \(sendID), \(url), \(detail)::jsonb)
            ON CONFLICT DO NOTHING
            RETURNING 1
            """)
        for try await _ in rows { return true }
        return false
    }
}
