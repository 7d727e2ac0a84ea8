import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// The mail provider's webhook: hard bounces and complaints suppress, reports naming a send are recorded on it,
/// a repeated batch changes nothing, a bad event is named by its index.
@Suite struct EmailEventsRoutesTests {
    func key(_ cast: TwoTenants, in tenant: Tenant, scopes: [String] = ["email-events:write"]) async throws -> String {
        try await cast.env.db.withPlatform { tx in
            try await APIKeys.create(
                tenantID: tenant.id, name: "mailprovider", scopes: scopes, expiresAt: nil, environment: "test",
                createdBy: nil, now: cast.clock.now, in: tx)
        }.secret
    }

    @Test func bouncesAndComplaintsSuppressAndAreRecordedOnTheirSend() async throws {
        let cast = try await TwoTenants.make(suite: "EmailEvents")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let other = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        let otherEmail = try #require(other.email)
        let mailed = try await cast.env.createSend(
            in: cast.a, list: nil, customer: customer.id, email: email, status: "sent", messageID: "<m1@kring.test>")
        let delivered = try await cast.env.createSend(
            in: cast.a, list: nil, customer: other.id, email: otherEmail, status: "sent", messageID: "<m2@kring.test>")
        let secret = try await key(cast, in: cast.a)
        let events: [[String: String]] = [
            [
                "type": "bounce", "bounce_type": "hard", "email": email.uppercased(), "message_id": "m1@kring.test",
                "detail": "550 5.1.1 user unknown",
            ],
            ["type": "delivered", "email": otherEmail, "message_id": "<m2@kring.test>"],
            ["type": "complaint", "email": "klager@example.nl"],
        ]
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let first = try await client.send(.post, "/api/v1/email-events", token: secret, json: ["events": events])
            #expect(first.status == .ok, "\(first.text)")
            #expect(first["received"] as? Int == 3)
            #expect(first["matched"] as? Int == 2)
            #expect(first["recorded"] as? Int == 2)
            #expect(first["suppressed"] as? Int == 2)
            // The same batch again: nothing new.
            let again = try await client.send(.post, "/api/v1/email-events", token: secret, json: ["events": events])
            #expect(again["recorded"] as? Int == 0)
            #expect(again["suppressed"] as? Int == 0)
        }
        #expect(try await cast.env.events(of: mailed.send, in: cast.a).map(\.kind) == ["bounced_hard"])
        #expect(try await cast.env.events(of: delivered.send, in: cast.a).map(\.kind) == ["delivered"])
        let blocked = try await cast.env.db.withTenant(cast.a) { tx in
            try await Suppressions.suppressed([email, otherEmail, "klager@example.nl"], marketing: false, in: tx)
        }
        #expect(blocked == [email, "klager@example.nl"])
        // B's suppression list is its own.
        let inB = try await cast.env.db.withTenant(cast.b) { tx in try await Suppressions.suppressed([email], marketing: true, in: tx) }
        #expect(inB.isEmpty)
    }

    @Test func aBadEventIsNamedByItsIndexAndNothingIsStored() async throws {
        let cast = try await TwoTenants.make(suite: "EmailEvents")
        let secret = try await key(cast, in: cast.a)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let bad = try await client.send(
                .post, "/api/v1/email-events", token: secret,
                json: [
                    "events": [
                        ["type": "complaint", "email": "a@example.nl"], ["type": "bounce", "email": "b@example.nl"],
                        ["type": "opened", "email": "geen-adres"],
                    ]
                ])
            #expect(bad.status == .unprocessableContent)
            let fields = (bad["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields == ["events[1].bounce_type"])
            let tooMany = try await client.send(
                .post, "/api/v1/email-events", token: secret,
                json: ["events": Array(repeating: ["type": "delivered", "email": "a@example.nl"], count: 1001)])
            #expect(tooMany.status == .unprocessableContent)
            // Staff and keys without the scope may not report.
            let other = try await key(cast, in: cast.a, scopes: ["customers:read"])
            #expect(try await client.send(.post, "/api/v1/email-events", token: other, json: ["events": []]).status == .forbidden)
        }
        let blocked = try await cast.env.db.withTenant(cast.a) { tx in try await Suppressions.suppressed(["a@example.nl"], marketing: false, in: tx) }
        #expect(blocked.isEmpty)
    }

    @Test func aReportThroughLibraryBsKeyNeverTouchesLibraryAsSends() async throws {
        let cast = try await TwoTenants.make(suite: "EmailEvents")
        let customer = try await cast.env.createCustomer(in: cast.a)
        let email = try #require(customer.email)
        let mailedInA = try await cast.env.createSend(
            in: cast.a, list: nil, customer: customer.id, email: email, status: "sent",
            messageID: "<a-only@kring.test>")
        let secretB = try await key(cast, in: cast.b)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let response = try await client.send(
                .post, "/api/v1/email-events", token: secretB,
                json: [
                    "events": [
                        ["type": "bounce", "bounce_type": "hard", "email": email, "message_id": "<a-only@kring.test>"]
                    ]
                ])
            #expect(response.status == .ok)
            #expect(response["matched"] as? Int == 0)
        }
        // A's send has no event and A's suppression list is untouched; the bounce lands in B only.
        #expect(try await cast.env.events(of: mailedInA.send, in: cast.a).isEmpty)
        let inA = try await cast.env.db.withTenant(cast.a) { tx in try await Suppressions.suppressed([email], marketing: false, in: tx) }
        #expect(inA.isEmpty)
        let inB = try await cast.env.db.withTenant(cast.b) { tx in try await Suppressions.suppressed([email], marketing: false, in: tx) }
        #expect(inB == [email])
    }
}
