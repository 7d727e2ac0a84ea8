import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringCampaigns
import KringDatabase
import KringTestSupport
import Testing

@Suite struct CampaignsRoutesTests {
    static let idRoutes = RouteCase.campaigns.filter { route in ["{campaign}", "{scheduled}", "{paused}"].contains(where: route.path.contains) }

    @Test(arguments: idRoutes)
    func anotherLibrarysCampaignAnswers404ChangesNothingAndIsAudited(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "CampaignsCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let fixturesA = try await cast.env.createCampaignFixtures(in: cast.a)
        let fixturesB = try await cast.env.createCampaignFixtures(in: cast.b)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            // The path names B's campaign; the body names A's own template and list.
            let body = route.body.map { fixturesA.fill($0) }
            let response = try await client.send(route.method, fixturesB.fill(route.path), token: token, json: body)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status)")
        }
        let statesB = try await cast.env.db.withTenant(cast.b) { tx in
            try await tx.query("SELECT name || ':' || state FROM campaigns ORDER BY name, state").decode(String.self).reduce(into: [String]()) {
                $0.append($1)
            }
        }
        #expect(statesB == ["Fixture:draft", "Fixture:paused", "Fixture:scheduled"])
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.a) == 1)
    }

    @Test func aCampaignNamingAnotherLibrarysListOrTemplateIsRefused() async throws {
        let cast = try await TwoTenants.make(suite: "CampaignsCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let fixturesB = try await cast.env.createCampaignFixtures(in: cast.b)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let response = try await client.send(
                .post, "/api/v1/campaigns", token: token,
                json: fixturesB.fill(["name": "Lek", "list_id": "{sendlist}", "template_id": "{sendtemplate}"]))
            #expect(response.status == .unprocessableContent)
            #expect(response.text.contains("list_id") && response.text.contains("template_id"))
            let list = try await client.send(.get, "/api/v1/campaigns", token: token)
            #expect(list.status == .ok)
            #expect((list["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func aDraftIsScheduledSentPausedAndReportedOverHTTP() async throws {
        let cast = try await TwoTenants.make(suite: "CampaignsRoutes")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let analystA = try await cast.env.createUser(in: cast.a, role: .analyst)
        let fixtures = try await cast.env.createCampaignFixtures(in: cast.a)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let created = try await client.send(
                .post, "/api/v1/campaigns", token: token,
                json: fixtures.fill([
                    "name": "Kerst", "list_id": "{sendlist}", "template_id": "{sendtemplate}",
                    "subject": "Kerstvakantie", "subject_b": "Open tijdens de kerst", "from_address": "kerst@bibliotheek.example",
                ]))
            #expect(created.status == .created)
            let id = try #require(created["id"] as? String)
            #expect(created["state"] as? String == "draft")
            let later = try await client.send(.post, "/api/v1/campaigns/\(id)/schedule", token: token, json: ["at": "2099-12-01T08:00:00Z"])
            #expect(later["state"] as? String == "scheduled")
            let change = try await client.send(.put, "/api/v1/campaigns/\(id)", token: token, json: ["name": "Kerst 2"])
            #expect(change.status == .conflict)
            let paused = try await client.send(.post, "/api/v1/campaigns/\(id)/pause", token: token)
            #expect(paused["state"] as? String == "paused")
            let resumed = try await client.send(.post, "/api/v1/campaigns/\(id)/resume", token: token)
            #expect(resumed["state"] as? String == "scheduled")
            let now = try await client.send(.post, "/api/v1/campaigns/\(id)/schedule", token: token, json: [:])
            #expect(now["state"] as? String == "sending")
            #expect(now["recipients"] as? Int == 0)
            let bad = try await client.send(
                .post, "/api/v1/campaigns", token: token, json: ["name": "", "kind": "journey", "from_address": "geen adres"])
            #expect(bad.status == .unprocessableContent)
            for field in ["name", "journey", "from_address"] { #expect(bad.text.contains("\"\(field)\"")) }

            let analyst = try await client.login(email: analystA.email, tenant: cast.a.slug.value).access
            let stats = try await client.send(.get, "/api/v1/campaigns/\(id)/stats", token: analyst)
            #expect(stats.status == .ok)
            #expect(stats["recipients"] as? Int == 0)
            #expect(try await client.send(.post, "/api/v1/campaigns/\(id)/cancel", token: analyst).status == .forbidden)
        }
    }
}
