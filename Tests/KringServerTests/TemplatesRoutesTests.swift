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

/// Templates over HTTP: parts that do not parse name the part, versions refuse lost updates, a preview renders for
/// one customer of the caller's library.
@Suite struct TemplatesRoutesTests {
    static var body: [String: Any] {
        [
            "name": "Nieuwsbrief", "subject": "Nieuws voor {{customer.first_name}}",
            "html": "<p>Beste {{customer.full_name}},</p>", "text": "Beste {{customer.full_name}},",
        ]
    }

    @Test func aPartThatDoesNotParseAnswers422NamingThePart() async throws {
        let cast = try await TwoTenants.make(suite: "Templates")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            var broken = Self.body
            broken["html"] = "<p>{{#activities}}{{title}}</p>"
            let response = try await client.send(.post, "/api/v1/templates", token: token, json: broken)
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            let errors = response["errors"] as? [[String: Any]] ?? []
            #expect(errors.compactMap { $0["field"] as? String } == ["html"])
            #expect((errors.first?["message"] as? String)?.contains("never closed") == true)
            let list = try await client.send(.get, "/api/v1/templates", token: token)
            #expect((list["items"] as? [Any])?.isEmpty == true)
        }
        #expect(try await cast.tenantAuditCount("template.created", tenant: cast.a) == 0)
    }

    @Test func aChangeIsANewVersionAndALostUpdateIsRefused() async throws {
        let cast = try await TwoTenants.make(suite: "Templates")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            let created = try await client.send(.post, "/api/v1/templates", token: token, json: Self.body)
            #expect(created.status == .created)
            #expect(created.headers[.eTag] == "\"1\"")
            let id = try #require(created["id"] as? String)
            #expect(created.headers[.location] == "/api/v1/templates/\(id.lowercased())")
            var changed = Self.body
            changed["subject"] = "Nieuws van {{library.name}}"
            var ifMatch = HTTPFields()
            ifMatch[.ifMatch] = "\"1\""
            let second = try await client.send(.put, "/api/v1/templates/\(id)", token: token, json: changed, headers: ifMatch)
            #expect(second.status == .ok)
            #expect(second["version"] as? Int == 2)
            #expect(second.headers[.eTag] == "\"2\"")
            let lost = try await client.send(.put, "/api/v1/templates/\(id)", token: token, json: Self.body, headers: ifMatch)
            #expect(lost.status == .preconditionFailed)
            #expect(try await client.send(.put, "/api/v1/templates/\(id)", token: token, json: Self.body).status == .preconditionRequired)
            var byBody = changed
            byBody["version"] = 2
            byBody["text"] = "Versie 3"
            #expect(try await client.send(.put, "/api/v1/templates/\(id)", token: token, json: byBody)["version"] as? Int == 3)
            let current = try await client.send(.get, "/api/v1/templates/\(id)", token: token)
            #expect(current["text"] as? String == "Versie 3")
            #expect(current.headers[.eTag] == "\"3\"")
            let first = try await client.send(.get, "/api/v1/templates/\(id)?version=1", token: token)
            #expect(first["subject"] as? String == "Nieuws voor {{customer.first_name}}")
            #expect(first["version"] as? Int == 1)
            #expect(try await client.send(.get, "/api/v1/templates/\(id)?version=9", token: token).status == .notFound)
            #expect(try await client.send(.get, "/api/v1/templates/\(id)?version=nul", token: token).status == .badRequest)
            let list = try await client.send(.get, "/api/v1/templates", token: token)
            #expect((list["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        }
        #expect(try await cast.tenantAuditCount("template.created", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("template.updated", tenant: cast.a) == 2)
        let versions = try await cast.env.db.withTenant(cast.a) { tx in
            try await tx.query("SELECT count(*) FROM template_versions").decode(Int.self).reduce(0, +)
        }
        #expect(versions == 3)
    }

    @Test func aPreviewRendersForOneCustomerWithPlaceholderLinksAndIsAudited() async throws {
        let cast = try await TwoTenants.make(suite: "Templates")
        let marketing = try await cast.env.createUser(in: cast.a, role: .marketing)
        let customer = try await cast.env.createCustomer(in: cast.a, lastName: "Dekker & Zn")
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: cast.a.slug.value).access
            let created = try await client.send(.post, "/api/v1/templates", token: token, json: Self.body)
            let id = try #require(created["id"] as? String)
            let preview = try await client.send(
                .post, "/api/v1/templates/\(id)/preview", token: token,
                json: [
                    "customer_id": customer.id.uuidString.lowercased(), "subject": "Voor {{customer.last_name}}",
                    "context": ["confirm_url": "https://c.test"],
                ])
            #expect(preview.status == .ok, "\(preview.text)")
            #expect(preview["subject"] as? String == "Voor Dekker & Zn")
            #expect(preview["version"] as? Int == 1)
            #expect(preview["customer_id"] as? String == customer.id.uuidString.lowercased())
            let html = try #require(preview["html"] as? String)
            #expect(html.contains("<p>Beste Dekker &amp; Zn,</p>"))
            #expect(html.contains("<p>\(cast.a.name)</p>"))
            #expect(html.contains("href=\"https://voorbeeld.invalid/afmelden\""))
            #expect(html.contains("Voorkeuren aanpassen"))
            #expect((preview["text"] as? String)?.hasPrefix("Beste Dekker & Zn,") == true)
            // An unknown customer answers 404 (and is audited as a probe).
            let unknown = try await client.send(.post, "/api/v1/templates/\(id)/preview", token: token, json: ["customer_id": UUID().uuidString])
            #expect(unknown.status == .notFound)
            // An analyst may read templates but not render them for a person.
            let analyst = try await cast.env.createUser(in: cast.a, role: .analyst)
            let analystToken = try await client.login(email: analyst.email, tenant: cast.a.slug.value).access
            #expect(try await client.send(.get, "/api/v1/templates/\(id)", token: analystToken).status == .ok)
            let refused = try await client.send(
                .post, "/api/v1/templates/\(id)/preview", token: analystToken,
                json: ["customer_id": customer.id.uuidString.lowercased()])
            #expect(refused.status == .forbidden)
        }
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("access.unknown_customer", tenant: cast.a) == 1)
    }
}

/// Library A's staff with library B's template or customer ids: 404 on every template route, nothing changes in B.
@Suite struct TemplatesCrossTenantTests {
    static let templateRoutes = RouteCase.templates.filter { $0.path.contains("{template}") }

    @Test(arguments: templateRoutes)
    func anotherLibrarysTemplateAnswers404AndIsAudited(route: RouteCase) async throws {
        let cast = try await TwoTenants.make(suite: "TemplatesCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let customerA = try await cast.env.createCustomer(in: cast.a)
        let templateB = try await cast.env.db.withTenant(cast.b) { tx in
            try await Templates.create(
                TemplateDraft(name: "Geheim van B", subject: "Geheim", html: "<p>Geheim</p>", text: "Geheim"), by: .system, now: Date(), in: tx)
        }
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            var headers = HTTPFields()
            if route.ifMatch { headers[.ifMatch] = "\"1\"" }
            let fixtures = CampaignFixtures(ids: [
                "{template}": templateB.id.uuidString.lowercased(), "{customer}": customerA.id.uuidString.lowercased(),
            ])
            let response = try await client.send(
                route.method, fixtures.fill(route.path), token: token, json: route.body.map { fixtures.fill($0) },
                headers: headers)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status)")
            #expect(!response.text.contains("Geheim"))
        }
        let after = try await cast.env.db.withTenant(cast.b) { tx in try await Templates.find(id: templateB.id, in: tx) }
        #expect(after.version == 1)
        #expect(after.name == "Geheim van B")
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.a) == 0)
    }

    @Test func aPreviewForAnotherLibrarysCustomerAnswers404() async throws {
        let cast = try await TwoTenants.make(suite: "TemplatesCrossTenant")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let customerB = try await cast.env.createCustomer(in: cast.b, lastName: "Verborgen")
        let templateA = try await cast.env.db.withTenant(cast.a) { tx in
            try await Templates.create(
                TemplateDraft(name: "Welkom", subject: "Hallo {{customer.last_name}}", html: "<p>{{customer.full_name}}</p>", text: "x"),
                by: .system, now: Date(), in: tx)
        }
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let response = try await client.send(
                .post, "/api/v1/templates/\(templateA.id.uuidString.lowercased())/preview", token: token,
                json: ["customer_id": customerB.id.uuidString.lowercased()])
            #expect(response.status == .notFound)
            #expect(!response.text.contains("Verborgen"))
        }
        #expect(try await cast.tenantAuditCount("access.unknown_customer", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.a) == 0)
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.b) == 0)
    }
}
