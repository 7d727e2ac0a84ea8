import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Business relations: tenant A's staff with tenant B's ids. Every relations route is in one of the tests below.
@Suite struct RelationsCrossTenantTests {
    static func pathPart(_ route: RouteCase) -> String { String(route.path.split(separator: "?").first ?? "") }

    /// Routes that name a record in their path.
    static let pathRoutes = RouteCase.relations.filter { route in RouteCase.relationPlaceholders.contains(where: pathPart(route).contains) }
    /// Lists.
    static let listRoutes = RouteCase.relations.filter { $0.method == .get && !pathRoutes.map(\.testDescription).contains($0.testDescription) }
    /// Writes whose body names another record or a staff member.
    static let bodyRoutes = RouteCase.relations.filter { route in
        guard let body = route.body else { return false }
        let text = "\(body)"
        return (RouteCase.relationPlaceholders + ["{user}"]).contains(where: text.contains)
    }

    struct Cast {
        let two: TwoTenants
        let callerA: (id: UUID, email: String)
        let fixturesA: RelationFixtures
        let fixturesB: RelationFixtures
    }

    static func cast(_ suite: String) async throws -> Cast {
        let two = try await TwoTenants.make(suite: suite)
        let callerA = try await two.env.createUser(in: two.a, role: .relations)
        let fixturesB = try await two.env.createRelationFixtures(in: two.b, name: "Alleen in B")
        let fixturesA = try await two.env.createRelationFixtures(in: two.a)
        return Cast(two: two, callerA: callerA, fixturesA: fixturesA, fixturesB: fixturesB)
    }

    static func body(_ route: RouteCase, ids: RelationFixtures, user: UUID) -> [String: Any]? {
        route.body.map {
            $0.mapValues { value in
                ids.fill(value) { text in
                    text.replacingOccurrences(of: "{user}", with: user.uuidString.lowercased())
                        .replacingOccurrences(of: "{newslug}", with: "n-\(UUID().uuidString.prefix(8).lowercased())")
                        .replacingOccurrences(of: "{newemail}", with: "x-\(UUID().uuidString.prefix(6))@example.nl")
                }
            }
        }
    }

    /// What B holds, to prove a probe changed nothing.
    static func snapshot(_ fixtures: RelationFixtures, in tenant: Tenant, _ env: TestEnvironment) async throws -> [String] {
        try await env.db.withTenant(tenant) { tx in
            let now = Date()
            let organisation = try await Organisations.find(id: fixtures.organisation, in: tx)
            let bare = try await Organisations.find(id: fixtures.bareOrganisation, in: tx)
            let roles = try await Contacts.roles(contactID: fixtures.contact, in: tx)
            let consents = try await ContactConsents.history(contactID: fixtures.contact, in: tx)
            let interaction = try await Interactions.find(id: fixtures.interaction, in: tx)
            let task = try await RelationTasks.find(id: fixtures.task, now: now, in: tx)
            let order = try await Orders.find(id: fixtures.order, in: tx)
            let agreement = try await Agreements.find(id: fixtures.agreement, in: tx)
            let contact = try await tx.query("SELECT version, last_name FROM contacts WHERE id = \(fixtures.contact)").decode((Int, String).self)
                .reduce(into: [String]()) { $0.append("\($1.0) \($1.1)") }
            return [
                "\(organisation.version) \(organisation.name)", bare.name, "\(roles.count) \(roles.map { $0.activeTo?.description ?? "-" })",
                "\(consents.count)", "\(interaction.subject) \(interaction.contactIDs.count)", "\(task.status) \(task.title)",
                "\(order.amountCents) \(order.status)", "\(agreement.title) \(agreement.kind)",
            ] + contact
        }
    }

    @Test(arguments: pathRoutes)
    func anotherLibrarysRecordAnswers404AndIsAudited(route: RouteCase) async throws {
        let cast = try await Self.cast("RelationsCrossTenant")
        let before = try await Self.snapshot(cast.fixturesB, in: cast.two.b, cast.two.env)
        let app = cast.two.env.application(cast.two.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.callerA.email, tenant: cast.two.a.slug.value).access
            let path = cast.fixturesB.fill(route.path)
            var headers = HTTPFields()
            if route.ifMatch { headers[.ifMatch] = "\"1\"" }
            let response = try await client.send(
                route.method, path, token: token, json: Self.body(route, ids: cast.fixturesA, user: cast.callerA.id),
                headers: headers)
            #expect(response.status == .notFound, "\(route.testDescription): \(response.status) \(response.text)")
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(!response.text.contains("Alleen in B"))
        }
        #expect(try await Self.snapshot(cast.fixturesB, in: cast.two.b, cast.two.env) == before)
        #expect(try await cast.two.tenantAuditCount("access.unknown_resource", tenant: cast.two.a) == 1)
        #expect(try await cast.two.tenantAuditCount("access.unknown_resource", tenant: cast.two.b) == 0)
    }

    @Test(arguments: listRoutes)
    func listsShowOnlyTheCredentialsLibrary(route: RouteCase) async throws {
        let cast = try await Self.cast("RelationsCrossTenant")
        try await cast.two.env.db.withTenant(cast.two.b) { tx in
            _ = try await OrganisationTypes.create(code: "alleen_in_b", name: "Alleen in B", by: .system, now: Date(), in: tx)
        }
        let app = cast.two.env.application(cast.two.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.callerA.email, tenant: cast.two.a.slug.value).access
            // Unfiltered (every status), and filtered by B's ids.
            for path in [Self.pathPart(route) + (route.path.contains("tasks") ? "?status=all" : ""), cast.fixturesB.fill(route.path)] {
                let response = try await client.send(.get, path, token: token)
                #expect(response.status == .ok, "\(path): \(response.status) \(response.text)")
                #expect(!response.text.contains("Alleen in B") && !response.text.contains("alleen_in_b"))
                for id in [
                    cast.fixturesB.organisation, cast.fixturesB.contact, cast.fixturesB.interaction, cast.fixturesB.task, cast.fixturesB.order,
                    cast.fixturesB.agreement,
                ] {
                    #expect(!response.text.contains(id.uuidString.lowercased()), "\(path) shows B's \(id)")
                }
            }
            // A's own records do show (the test can fail).
            let own = try await client.send(.get, Self.pathPart(route) + (route.path.contains("tasks") ? "?status=all" : ""), token: token)
            #expect((own["items"] as? [Any])?.isEmpty == false, "\(route.testDescription): \(own.text)")
        }
    }

    @Test(arguments: bodyRoutes)
    func bodiesNamingAnotherLibrarysRecordsOrStaffAreRefused(route: RouteCase) async throws {
        let cast = try await Self.cast("RelationsCrossTenant")
        let before = try await Self.snapshot(cast.fixturesB, in: cast.two.b, cast.two.env)
        let app = cast.two.env.application(cast.two.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.callerA.email, tenant: cast.two.a.slug.value).access
            // B's ids only in the body; the path names A's records.
            let body = Self.body(route, ids: cast.fixturesB, user: cast.two.userB.id)
            let response = try await client.send(
                route.method, cast.fixturesA.fill(route.path), token: token, json: body,
                headers: route.ifMatch ? [.ifMatch: "\"1\""] : [:])
            #expect(response.status.code == 422, "\(route.testDescription): \(response.status) \(response.text)")
            #expect(!response.text.contains("Alleen in B"))
        }
        #expect(try await Self.snapshot(cast.fixturesB, in: cast.two.b, cast.two.env) == before)
        let counts = try await cast.two.env.db.withTenant(cast.two.b) { tx in
            try await tx.query(
                """
                SELECT (SELECT count(*) FROM interactions)::int, (SELECT count(*) FROM tasks)::int, (SELECT count(*) FROM orders)::int,
                       (SELECT count(*) FROM agreements)::int, (SELECT count(*) FROM contact_roles)::int
                """
            ).decode((Int, Int, Int, Int, Int).self).reduce(into: [Int]()) { $0 += [$1.0, $1.1, $1.2, $1.3, $1.4] }
        }
        #expect(counts == [1, 1, 1, 1, 1])
    }

    @Test func importsAndTypesStayInTheCredentialsLibrary() async throws {
        let cast = try await Self.cast("RelationsCrossTenant")
        let nameB = try await cast.two.env.db.withTenant(cast.two.b) { tx in
            try await Organisations.find(id: cast.fixturesB.organisation, in: tx).name
        }
        let app = cast.two.env.application(cast.two.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: cast.callerA.email, tenant: cast.two.a.slug.value).access
            // A contact at B's school is not found in A.
            let contacts = try await client.send(
                .post, "/api/v1/contacts/import", token: token, rawBody: "Organisatie;Achternaam;Rol\n\(nameB);Visser;adviseur\n")
            #expect(contacts.status == .ok)
            #expect(contacts["rejected"] as? Int == 1)
            // An organisation of B's name is A's own new organisation.
            let organisations = try await client.send(.post, "/api/v1/organisations/import", token: token, rawBody: "Naam;Soort\n\(nameB);partner\n")
            #expect(organisations["inserted"] as? Int == 1)
            let type = try await client.send(.post, "/api/v1/organisation-types", token: token, json: ["code": "eigen_type", "name": "Eigen"])
            #expect(type.status == .created)
        }
        let (organisationsB, typesB) = try await cast.two.env.db.withTenant(cast.two.b) { tx in
            (try await Organisations.search(.init(), in: tx).count, try await OrganisationTypes.list(in: tx).map(\.code))
        }
        #expect(organisationsB == 2)
        #expect(!typesB.contains("eigen_type"))
        let organisationsA = try await cast.two.env.db.withTenant(cast.two.a) { tx in try await Organisations.search(.init(query: nameB), in: tx) }
        #expect(organisationsA.count == 1)
    }
}
