import Foundation
import KringB2B
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// Unsubscribing through the link in a mail (RFC 8058 one-click, or the page's button). Takes effect at once.
public enum Unsubscribes {
    /// From a list mail: withdraws the list and cancels the customer's pending mails of that list. From any other
    /// marketing mail: puts the address on the suppression list as `unsubscribed` and cancels all pending marketing
    /// mail of the customer. Records an `unsubscribed` event on the send; a second call changes nothing. A business
    /// contact's mail works the same way on the contact's consent statements and mails.
    public static func unsubscribe(_ send: MailedSend, clientAddress: String?, now: Date, in tx: TenantTransaction) async throws {
        // The customer acting through the link in their mail: no staff user, no key.
        let actor = AuditActor.system
        let evidence = ["source": "unsubscribe_link", "send_id": send.id.uuidString.lowercased()]
        switch (send.recipient, send.list) {
        case (.customer(let customerID), let list?):
            try await withdraw(list, customerID: customerID, evidence: evidence, clientAddress: clientAddress, now: now, in: tx)
        case (.contact(let contactID), let list?):
            try await withdraw(list, contactID: contactID, evidence: evidence, clientAddress: clientAddress, now: now, in: tx)
        case (let recipient, nil):
            if let email = EmailAddress(send.email) {
                _ = try await Suppressions.suppress(
                    email, reason: .unsubscribed, detail: "Afgemeld via de link in een mail", by: actor, now: now, in: tx)
            }
            try await cancelPendingMarketing(recipient, now: now, in: tx)
        }
        if try await send.record("unsubscribed", detail: ["via": "link"], at: now, in: tx) {
            let subject = send.recipient.auditSubject
            try await TenantAudit.record(
                "campaign.unsubscribed", subjectType: subject.type, subjectID: subject.id, by: actor,
                details: [
                    "via": "unsubscribe_link", "send_id": send.id.uuidString.lowercased(),
                    "list": send.list?.key ?? "all_marketing",
                ], at: now, in: tx)
        }
    }

    /// Records `withdrawn` on the list unless it is withdrawn already, and cancels the customer's pending mails of the
    /// list. An erased or merged customer has nothing left to withdraw.
    public static func withdraw(
        _ list: SubscriptionList, customerID: UUID, evidence: [String: String], clientAddress: String?,
        now: Date, in tx: TenantTransaction
    ) async throws {
        let latest = try await Subscriptions.latest(customerID: customerID, topics: [list.topic], in: tx)[list.topic]
        if let latest, latest.status != .withdrawn {
            var evidence = evidence
            evidence["client_ip"] = clientAddress
            do {
                _ = try await Consents.record(
                    ConsentDraft(
                        topic: list.topic, status: Consent.Status.withdrawn.rawValue, source: Consent.Source.webForm.rawValue,
                        textVersion: latest.textVersion, evidence: evidence),
                    customerID: customerID, by: .system, now: now, in: tx)
            } catch CustomerError.erased {
            } catch CustomerError.merged {
            }
        }
        try await tx.query(
            """
            UPDATE sends SET status = 'cancelled', last_error = 'unsubscribed'
            WHERE customer_id = \(customerID) AND status = 'pending' AND campaign_id IN (SELECT id FROM campaigns WHERE list_id = \(list.id))
            """)
    }

    /// A contact's withdrawal from a list: a `withdrawn` statement with the link as evidence (unless the latest one
    /// is a withdrawal already), and their pending mails of the list cancelled. A deleted contact has nothing left.
    public static func withdraw(
        _ list: SubscriptionList, contactID: UUID, evidence: [String: String], clientAddress: String?,
        now: Date, in tx: TenantTransaction
    ) async throws {
        let latest = try await ContactConsents.current(contactID: contactID, in: tx).first { $0.topic == list.topic }
        if let latest, latest.status != .withdrawn {
            var evidence = evidence
            evidence["client_ip"] = clientAddress
            do {
                _ = try await ContactConsents.record(
                    ContactConsentDraft(
                        topic: list.topic, status: ContactConsent.Status.withdrawn.rawValue,
                        source: ContactConsent.Source.webForm.rawValue, textVersion: list.consentVersion,
                        evidence: evidence),
                    contactID: contactID, by: .system, now: now, in: tx)
            } catch RelationsError.notFound {
            }
        }
        try await tx.query(
            """
            UPDATE sends SET status = 'cancelled', last_error = 'unsubscribed'
            WHERE contact_id = \(contactID) AND status = 'pending' AND campaign_id IN (SELECT id FROM campaigns WHERE list_id = \(list.id))
            """)
    }

    /// Cancels every pending marketing mail of the customer (after an unsubscribe from all).
    public static func cancelPendingMarketing(customerID: UUID, now: Date, in tx: TenantTransaction) async throws {
        try await cancelPendingMarketing(.customer(customerID), now: now, in: tx)
    }

    /// Cancels every pending marketing mail of the recipient.
    static func cancelPendingMarketing(_ recipient: Recipient, now: Date, in tx: TenantTransaction) async throws {
        try await tx.query(
            """
            UPDATE sends SET status = 'cancelled', last_error = 'unsubscribed'
            WHERE (customer_id = \(recipient.customerID) OR contact_id = \(recipient.contactID)) AND status = 'pending'
              AND campaign_id IN (SELECT id FROM campaigns WHERE purpose = 'marketing')
            """)
    }
}
