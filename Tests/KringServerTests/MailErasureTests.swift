import Foundation
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

/// Erasing a customer leaves no address in the history of their mails; the counts stay.
@Suite struct MailErasureTests {
    @Test func erasureClearsTheAddressOfEveryMailAndCancelsWhatWaits() async throws {
        let cast = try await TwoTenants.make(suite: "MailErasure")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        let sent = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: email, status: "sent")
        let waiting = try await cast.env.createSend(in: cast.a, list: nil, customer: customer.id, email: email)
        // Library B has a customer with the same address, whose mail stays as it is.
        let other = try await cast.env.createCustomer(in: cast.b)
        let kept = try await cast.env.createSend(in: cast.b, list: nil, customer: other.id, email: email, status: "sent")
        try await cast.env.db.withTenant(cast.a) { tx in
            try await tx.query(
                """
                INSERT INTO campaign_events (campaign_id, customer_id, kind, at, send_id, detail)
                VALUES (\(sent.campaign), \(customer.id), 'bounced_soft', now(), \(sent.send), jsonb_build_object('reply', '452 mailbox full for ' || \(email)))
                """)
            try await CustomerPrivacy.erase(id: customer.id, by: .system, now: Date(), in: tx)
        }
        let (addresses, statuses, details) = try await cast.env.db.withTenant(cast.a) { tx in
            let rows = try await tx.query("SELECT id, email, status FROM sends WHERE customer_id = \(customer.id)").decode(
                (UUID, String, String).self)
            var addresses: [String] = []
            var statuses: [UUID: String] = [:]
            for try await (id, address, status) in rows {
                addresses.append(address)
                statuses[id] = status
            }
            let details = try await tx.query("SELECT detail::text FROM campaign_events WHERE customer_id = \(customer.id)").decode(String.self)
                .reduce(into: [String]()) { $0.append($1) }
            return (addresses, statuses, details)
        }
        #expect(addresses == ["", ""])
        #expect(statuses == [sent.send: "sent", waiting.send: "cancelled"])
        #expect(details == ["{}"])
        #expect(
            try await cast.env.db.withTenant(cast.b) { tx in
                try await tx.query("SELECT email FROM sends WHERE id = \(kept.send)").decode(String.self).reduce("") { $1 }
            } == email)
    }
}
