import Foundation
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// Unsubscribing through the link in a mail (RFC 8058 one-click, or the page's button). Takes effect at once.
public enum Unsubscribes {
    /// From a list mail: withdraws the list and cancels the customer's pending mails of that list. From any other
    /// marketing mail: puts the address on the suppression list as `unsubscribed` and cancels all pending marketing
    /// mail of the customer. Records an `unsubscribed` event on the send; a second call changes nothing.
    public static func unsubscribe(_ send: MailedSend, clientAddress: String?, now: Date, in tx: TenantTransaction) async throws {
        // The customer acting through the link in their mail: no staff user, no key.
        let actor = AuditActor.system
        if let list = send.list {
            try await withdraw(list, customerID: send.customerID, evidence: ["source": "unsubscribe_link", "send_id": send.id.uuidString.lowercased()],
                               clientAddress: clientAddress, now: now, in: tx)
        } else if let email = EmailAddress(send.email) {
            _ = try await Suppressions.suppress(email, reason: .unsubscribed, detail: "Afgemeld via de link in een mail", by: actor, now: now, in: tx)
            try await cancelPendingMarketing(customerID: send.customerID, now: now, in: tx)
        }
        if try await send.record("unsubscribed", detail: ["via": "link"], at: now, in: tx) {
            try await TenantAudit.record("campaign.unsubscribed", subjectType: "customer", subjectID: send.customerID.uuidString.lowercased(), by: actor,
                                         details: ["via": "unsubscribe_link", "send_id": send.id.uuidString.lowercased(),
                                                   "list": send.list?.key ?? "all_marketing"], at: now, in: tx)
        }
    }

    /// Records `withdrawn` on the list unless it is withdrawn already, and cancels the customer's pending mails of the
    /// list. An erased or merged customer has nothing left to withdraw.
    public static func withdraw(_ list: SubscriptionList, customerID: UUID, evidence: [String: String], clientAddress: String?,
                                now: Date, in tx: TenantTransaction) async throws {
        let latest = try await Subscriptions.latest(customerID: customerID, topics: [list.topic], in: tx)[list.topic]
        if let latest, latest.status != .withdrawn {
            var evidence = evidence
            evidence["client_ip"] = clientAddress
            do {
                _ = try await Consents.record(ConsentDraft(topic: list.topic, status: Consent.Status.withdrawn.rawValue, source: Consent.Source.webForm.rawValue,
                                                           textVersion: latest.textVersion, evidence: evidence),
                                              customerID: customerID, by: .system, now: now, in: tx)
            } catch CustomerError.erased {
            } catch CustomerError.merged {
            }
        }
        try await tx.query("""
            UPDATE sends SET status = 'cancelled', last_error = 'unsubscribed'
            WHERE customer_id = \(customerID) AND status = 'pending' AND campaign_id IN (SELECT id FROM campaigns WHERE list_id = \(list.id))
            """)
    }

    /// Cancels every pending marketing mail of the customer (after an unsubscribe from all).
    public static func cancelPendingMarketing(customerID: UUID, now: Date, in tx: TenantTransaction) async throws {
        try await tx.query("""
            UPDATE sends SET status = 'cancelled', last_error = 'unsubscribed'
            WHERE customer_id = \(customerID) AND status = 'pending' AND campaign_id IN (SELECT id FROM campaigns WHERE purpose = 'marketing')
            """)
    }
}
