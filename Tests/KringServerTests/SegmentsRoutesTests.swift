import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Segments over HTTP: previews stay in the credential's library, versions refuse lost updates, bad trees name the node.
@Suite struct SegmentsRoutesTests {
    static var guests: [String: Any] { ["rule": ["field": "roles", "op": "contains", "value": "guest"]] }

    @Test func aPreviewCountsOnlyTheCredentialsLibrary() async throws {
        let cast = try await TwoTenants.make(suite: "Segments")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let marketingB = try await cast.env.createUser(in: cast.b, role: .marketing)
        var created: Set<String> = []
        for _ in 0..<2 { created.insert(try await cast.env.createCustomer(in: cast.a).id.uuidString.lowercased()) }
        let idsA = created
        for _ in 0..<3 { _ = try await cast.env.createCustomer(in: cast.b, lastName: "Verborgen") }
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let tokenA = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let previewA = try await client.send(.post, "/api/v1/segments/preview", token: tokenA, json: Self.guests)
            #expect(previewA.status == .ok, "\(previewA.text)")
            #expect(previewA["count"] as? Int == 2)
            let sample = (previewA["sample"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(sample.map { $0.lowercased() }) == idsA)
            #expect(!previewA.text.contains("Verborgen"))
            let tokenB = try await client.login(email: marketingB.email, tenant: cast.b.slug.value).access
            let previewB = try await client.send(.post, "/api/v1/segments/preview", token: tokenB, json: Self.guests)
            #expect(previewB["count"] as? Int == 3)
        }
        // The sample shown is audited in A only.
        #expect(try await cast.tenantAuditCount("segment.previewed", tenant: cast.a) == 1)
    }

    @Test func analystsSeeCountsButNotWhom() async throws {
        let cast = try await TwoTenants.make(suite: "Segments")
        let analyst = try await cast.env.createUser(in: cast.a, role: .analyst)
        _ = try await cast.env.createCustomer(in: cast.a)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: analyst.email, tenant: cast.a.slug.value).access
            let preview = try await client.send(.post, "/api/v1/segments/preview", token: token, json: Self.guests)
            #expect(preview.status == .ok)
            #expect(preview["count"] as? Int == 1)
            #expect(preview["sample"] == nil)
            #expect(!preview.text.contains("Dekker"))
            let create = try await client.send(.post, "/api/v1/segments", token: token, json: ["name": "Gasten", "rule": Self.guests["rule"] as Any])
            #expect(create.status == .forbidden)
        }
        #expect(try await cast.tenantAuditCount("segment.previewed", tenant: cast.a) == 0)
    }

    @Test func badTreesAnswerWithTheNodesPath() async throws {
        let cast = try await TwoTenants.make(suite: "Segments")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            // Well-formed, but an unknown field and a value of the wrong type: 422, the project's status for invalid input.
            let invalid = try await client.send(
                .post, "/api/v1/segments/preview", token: token,
                rawBody: """
                    {"rule": {"all": [{"field": "age", "op": ">=", "value": 18}, {"field": "shoe_size", "op": "=", "value": 1},
                                      {"field": "age", "op": ">=", "value": "18"}]}}
                    """)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.headers[.contentType] == "application/problem+json")
            let fields = (invalid["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields == ["rule.all[1].field", "rule.all[2].value"])
            // Not the shape of a rule tree: 400, as any malformed body.
            let malformed = try await client.send(
                .post, "/api/v1/segments", token: token,
                rawBody: """
                    {"name": "Kapot", "rule": {"any": [{"field": "age", "op": ">=", "value": 18}, {"every": []}]}}
                    """)
            #expect(malformed.status == .badRequest)
            #expect((malformed["errors"] as? [[String: Any]])?.first?["field"] as? String == "rule.any[1]")
            let list = try await client.send(.get, "/api/v1/segments", token: token)
            #expect((list["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func aChangeIsANewVersionAndALostUpdateIsRefused() async throws {
        let cast = try await TwoTenants.make(suite: "Segments")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            let created = try await client.send(
                .post, "/api/v1/segments", token: token, json: ["name": "Gasten", "rule": Self.guests["rule"] as Any])
            #expect(created.status == .created)
            #expect(created.headers[.eTag] == "\"1\"")
            let id = try #require(created["id"] as? String)
            let adults: [String: Any] = ["field": "age", "op": ">=", "value": 18]
            var ifMatch = HTTPFields()
            ifMatch[.ifMatch] = "\"1\""
            let changed = try await client.send(
                .put, "/api/v1/segments/\(id)", token: token, json: ["name": "Volwassenen", "rule": adults], headers: ifMatch)
            #expect(changed.status == .ok)
            #expect(changed["version"] as? Int == 2)
            // Someone else's change from version 1 would overwrite version 2.
            let lost = try await client.send(.put, "/api/v1/segments/\(id)", token: token, json: ["name": "Oud", "rule": adults], headers: ifMatch)
            #expect(lost.status == .preconditionFailed)
            let unversioned = try await client.send(.put, "/api/v1/segments/\(id)", token: token, json: ["name": "Oud", "rule": adults])
            #expect(unversioned.status == .preconditionRequired)
            let byBody = try await client.send(
                .put, "/api/v1/segments/\(id)", token: token, json: ["name": "Volwassenen 3", "rule": adults, "version": 2])
            #expect(byBody["version"] as? Int == 3)
            let current = try await client.send(.get, "/api/v1/segments/\(id)", token: token)
            #expect(current["name"] as? String == "Volwassenen 3")
            #expect(current.headers[.eTag] == "\"3\"")
            let first = try await client.send(.get, "/api/v1/segments/\(id)?version=1", token: token)
            #expect(first["name"] as? String == "Gasten")
            #expect((first["rule"] as? [String: Any])?["field"] as? String == "roles")
            #expect(try await client.send(.get, "/api/v1/segments/\(id)?version=9", token: token).status == .notFound)
            _ = try await cast.env.createCustomer(in: cast.a)
            let count = try await client.send(.get, "/api/v1/segments/\(id)/count", token: token)
            #expect(count["version"] as? Int == 3)
            #expect(count["count"] as? Int == 0)
        }
        let versions = try await cast.env.db.withTenant(cast.a) { tx in
            try await tx.query("SELECT count(*) FROM segment_versions").decode(Int.self).reduce(0, +)
        }
        #expect(versions == 3)
    }

    static let segmentRoutes = RouteCase.segments.filter { $0.path.contains("{segment}") }

    @Test(arguments: segmentRoutes)
    func anotherLibrarysSegmentAnswers404AndIsAudited(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "SegmentsCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let segmentB = try await cast.env.createSegment(in: cast.b, name: "Geheim van B")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            var headers = HTTPFields()
            if route.ifMatch { headers[.ifMatch] = "\"1\"" }
            let response = try await client.send(
                route.method, route.path.replacingOccurrences(of: "{segment}", with: segmentB.id.uuidString.lowercased()),
                token: token, json: route.body, headers: headers)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status)")
            #expect(!response.text.contains("Geheim"))
        }
        let after = try await cast.env.db.withTenant(cast.b) { tx in try await Segments.find(id: segmentB.id, in: tx) }
        #expect(after.version == 1)
        #expect(after.name == "Geheim van B")
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.a) == 1)
    }
}
