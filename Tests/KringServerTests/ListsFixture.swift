import Foundation
import Hummingbird
import HummingbirdTesting
import KringB2C
import KringCampaigns
import KringDatabase
import KringTestSupport
import NIOCore

extension RouteCase {
    /// The subscription list, public page and e-mail event routes.
    static let lists: [RouteCase] = [
        RouteCase(method: .get, path: "/api/v1/lists", permission: .campaignsRead, body: nil),
        RouteCase(
            method: .post, path: "/api/v1/lists", permission: .campaignsWrite,
            body: ["key": "{newslug}", "name": "Nieuwsbrief", "consent_text": "Ja, stuur mij de nieuwsbrief."]),
        RouteCase(method: .get, path: "/api/v1/lists/{list}", permission: .campaignsRead, body: nil),
        RouteCase(
            method: .put, path: "/api/v1/lists/{list}", permission: .campaignsWrite,
            body: ["name": "Nieuwsbrief volwassenen", "consent_text": "Ja, stuur mij elke maand de nieuwsbrief."]),
        RouteCase(method: .get, path: "/api/v1/lists/{list}/subscribers", permission: .campaignsRead, body: nil),
        RouteCase(method: .post, path: "/api/v1/email-events", permission: .emailEventsWrite, body: ["events": [] as [String]]),
    ]
}

extension CampaignFixtures {
    static let listPlaceholders: [String] = ["{list}"]
}

extension TestEnvironment {
    /// List records of `tenant` by placeholder.
    func createListFixtures(in tenant: Tenant) async throws -> [String: String] {
        let list = try await createList(in: tenant)
        return ["{list}": list.id.uuidString.lowercased()]
    }

    /// A public list in `tenant`.
    func createList(in tenant: Tenant, key: String? = nil, name: String = "Nieuwsbrief") async throws -> SubscriptionList {
        let draft = SubscriptionListDraft(
            key: key ?? "l-\(UUID().uuidString.prefix(8).lowercased())", name: name,
            consentText: "Ja, ik wil de \(name) ontvangen.")
        return try await db.withTenant(tenant) { tx in try await SubscriptionLists.create(draft, by: .system, now: Date(), in: tx) }
    }
}

extension TestEnvironment {
    /// A campaign in `tenant` (to `list`, or else to a new segment: a marketing mailing without a list) and a pending
    /// send of it to `customer`.
    func createSend(
        in tenant: Tenant, list: SubscriptionList?, customer: UUID, email: String, status: String = "pending",
        messageID: String? = nil
    ) async throws -> (campaign: UUID, send: UUID) {
        let segment = list == nil ? try await createSegment(in: tenant).id : nil
        return try await db.withTenant(tenant) { tx in
            let campaign = UUID()
            let send = UUID()
            let now = Date()
            try await tx.query(
                """
                INSERT INTO campaigns (id, name, kind, purpose, state, list_id, segment_id, created_at, updated_at)
                VALUES (\(campaign), 'Maandbrief', 'one_off', 'marketing', 'sending', \(list?.id), \(segment), \(now), \(now))
                """)
            try await tx.query(
                """
                INSERT INTO sends (id, campaign_id, customer_id, email, status, priority, due_at, message_id, created_at)
                VALUES (\(send), \(campaign), \(customer), \(email), \(status), 5, \(now), \(messageID), \(now))
                """)
            return (campaign, send)
        }
    }

    /// Records a statement on `list` for `customer` as staff would, at `now` (pass the test clock's time when the
    /// server acts on it later: the latest statement is the one recorded last).
    func recordConsent(in tenant: Tenant, list: SubscriptionList, customer: UUID, status: Consent.Status, at now: Date = Date()) async throws {
        _ = try await db.withTenant(tenant) { tx in
            try await Consents.record(
                ConsentDraft(topic: list.topic, status: status.rawValue, textVersion: list.consentVersion),
                customerID: customer, by: .system, now: now, in: tx)
        }
    }

    /// The latest statement of `customer` on `list`.
    func latestConsent(in tenant: Tenant, list: SubscriptionList, customer: UUID) async throws -> Consent? {
        try await db.withTenant(tenant) { tx in try await Consents.current(customerID: customer, in: tx).first { $0.topic == list.topic } }
    }

    /// The status of a send.
    func sendStatus(_ send: UUID, in tenant: Tenant) async throws -> String? {
        try await db.withTenant(tenant) { tx in
            try await tx.query("SELECT status FROM sends WHERE id = \(send)").decode(String.self).reduce(nil) { $1 }
        }
    }

    /// The campaign events of a send, as (kind, url), oldest first.
    func events(of send: UUID, in tenant: Tenant) async throws -> [(kind: String, url: String?)] {
        try await db.withTenant(tenant) { tx in
            var events: [(kind: String, url: String?)] = []
            for try await (kind, url) in try await tx.query("SELECT kind, url FROM campaign_events WHERE send_id = \(send) ORDER BY id")
                .decode((String, String?).self)
            { events.append((kind, url)) }
            return events
        }
    }
}

extension TestClientProtocol {
    /// Posts an HTML form (`application/x-www-form-urlencoded`); names may repeat.
    func postForm(_ uri: String, _ fields: [(String, String)]) async throws -> FormResponse {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = fields.map {
            "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }
        .joined(separator: "&")
        return try await execute(
            uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body)
        ) { response in
            FormResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }
}

/// The answer to a posted form.
struct FormResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
}
