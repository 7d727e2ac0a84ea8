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

/// Subscription lists over HTTP: create, change (new consent version), archive, counts without names.
@Suite struct ListsRoutesTests {
    @Test func marketingCreatesChangesAndArchivesAList() async throws {
        let cast = try await TwoTenants.make(suite: "Lists")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            let created = try await client.send(
                .post, "/api/v1/lists", token: token,
                json: ["key": "nieuwsbrief", "name": "Nieuwsbrief", "consent_text": "Ja, stuur mij de nieuwsbrief."])
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created["id"] as? String)
            let version = try #require(created["consent_version"] as? String)
            #expect(created["public"] as? Bool == true)
            let duplicate = try await client.send(
                .post, "/api/v1/lists", token: token,
                json: ["key": "nieuwsbrief", "name": "Nog een", "consent_text": "Ja."])
            #expect(duplicate.status == .conflict)
            let invalid = try await client.send(.post, "/api/v1/lists", token: token, json: ["key": "Niet Goed!", "name": "", "consent_text": ""])
            #expect(invalid.status == .unprocessableContent)
            #expect(Set((invalid["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }) == ["key", "name", "consent_text"])

            // Same text: same version; a new text: a new version.
            let renamed = try await client.send(
                .put, "/api/v1/lists/\(id)", token: token,
                json: ["name": "Maandbrief", "consent_text": "Ja, stuur mij de nieuwsbrief."])
            #expect(renamed["name"] as? String == "Maandbrief")
            #expect(renamed["consent_version"] as? String == version)
            let reworded = try await client.send(
                .put, "/api/v1/lists/\(id)", token: token,
                json: ["name": "Maandbrief", "consent_text": "Ja, stuur mij elke maand de nieuwsbrief."])
            #expect(reworded["consent_version"] as? String != version)
            let rekeyed = try await client.send(
                .put, "/api/v1/lists/\(id)", token: token, json: ["key": "anders", "name": "X", "consent_text": "Ja."])
            #expect(rekeyed.status == .unprocessableContent)
            let archived = try await client.send(
                .put, "/api/v1/lists/\(id)", token: token,
                json: ["name": "Maandbrief", "consent_text": "Ja, stuur mij elke maand de nieuwsbrief.", "archived": true])
            #expect(archived["archived_at"] is String)
            let read = try await client.send(.get, "/api/v1/lists/\(id)", token: token)
            #expect(read["name"] as? String == "Maandbrief")
            let all = try await client.send(.get, "/api/v1/lists", token: token)
            #expect((all["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } == [id])
        }
        #expect(try await cast.tenantAuditCount("list.created", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("list.updated", tenant: cast.a) == 3)
    }

    @Test func subscriberCountsGoByTheLatestStatementAndNameNobody() async throws {
        let cast = try await TwoTenants.make(suite: "Lists")
        let analyst = try await cast.env.createUser(in: cast.a, role: .analyst)
        let list = try await cast.env.createList(in: cast.a)
        let pending = try await cast.env.createCustomer(in: cast.a, lastName: "Wachtend")
        let confirmed = try await cast.env.createCustomer(in: cast.a, lastName: "Bevestigd")
        let withdrawn = try await cast.env.createCustomer(in: cast.a, lastName: "Afgemeld")
        try await cast.env.recordConsent(in: cast.a, list: list, customer: pending.id, status: .optedIn)
        for customer in [confirmed, withdrawn] {
            try await cast.env.recordConsent(in: cast.a, list: list, customer: customer.id, status: .optedIn)
            try await cast.env.recordConsent(in: cast.a, list: list, customer: customer.id, status: .confirmed)
        }
        try await cast.env.recordConsent(in: cast.a, list: list, customer: withdrawn.id, status: .withdrawn)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: analyst.email, tenant: cast.a.slug.value).access
            let counts = try await client.send(.get, "/api/v1/lists/\(list.id.uuidString.lowercased())/subscribers", token: token)
            #expect(counts.status == .ok)
            #expect(counts["pending"] as? Int == 1)
            #expect(counts["confirmed"] as? Int == 1)
            #expect(counts["withdrawn"] as? Int == 1)
            #expect(!counts.text.contains("Wachtend") && !counts.text.contains("Bevestigd"))
        }
    }
}

/// Tenant A's staff with tenant B's list ids: 404, B's list unchanged, the probe audited in A.
@Suite struct ListsCrossTenantTests {
    static let routes = RouteCase.lists.filter { $0.path.contains("{list}") }

    @Test(arguments: routes)
    func anotherLibrarysListAnswers404AndIsAudited(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "ListsCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let listB = try await cast.env.createList(in: cast.b, name: "Verborgen lijst")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let response = try await client.send(
                route.method, route.path.replacingOccurrences(of: "{list}", with: listB.id.uuidString.lowercased()),
                token: token, json: route.body)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status)")
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(!response.text.contains("Verborgen"))
        }
        let after = try await cast.env.db.withTenant(cast.b) { tx in try await SubscriptionLists.find(id: listB.id, in: tx) }
        #expect(after == listB)
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.b) == 0)
    }
}
