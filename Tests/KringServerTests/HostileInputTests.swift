import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringTestSupport
import Logging
import PostgresNIO
import Testing

@testable import KringServer

/// Input an attacker or a contract fuzzer sends: every one answers a 4xx problem document naming the field, never a 500.
@Suite struct HostileInputTests {
    static func problemField(_ response: JSONResponse) -> String? {
        ((response["errors"] as? [[String: Any]])?.first)?["field"] as? String
    }

    @Test func aNULCharacterIsRefusedWhereverInputIsReadNamingTheField() async throws {
        let t = try await TwoTenants.make(suite: "HostileNUL")
        let frontdesk = try await t.env.createUser(in: t.a, role: .frontdesk)
        let marketing = try await t.env.createUser(in: t.a, role: .marketing)
        let relations = try await t.env.createUser(in: t.a, role: .relations)
        let customer = try await t.env.createCustomer(in: t.a)
        try await t.env.application(t.services).test(.router) { client in
            let desk = try await client.login(email: frontdesk.email, tenant: t.a.slug.value).access
            let mark = try await client.login(email: marketing.email, tenant: t.a.slug.value).access
            let rel = try await client.login(email: relations.email, tenant: t.a.slug.value).access
            let admin = try await client.login(email: t.adminA.email, tenant: t.a.slug.value).access

            // Query strings, on every route alike (checked before any route runs).
            for (path, token, field) in [
                ("/api/v1/customers?q=ab%00c", desk, "q"), ("/api/v1/contacts?q=%00", rel, "q"),
                ("/api/v1/organisations?type=school%00", rel, "type"), ("/api/v1/organisations?tag=%00", rel, "tag"),
                ("/api/v1/interactions?q=%00", rel, "q"), ("/api/v1/orders?q=%00", rel, "q"),
                ("/api/v1/agreements?q=%00", rel, "q"), ("/api/v1/api-keys?after=%00", admin, "after"),
            ] {
                let response = try await client.send(.get, path, token: token)
                #expect(response.status == .badRequest, "\(path)")
                #expect(Self.problemField(response) == field, "\(path)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }

            // JSON bodies: the field's path is named, nested or not.
            let newCustomer = try await client.send(
                .post, "/api/v1/customers", token: desk,
                rawBody: #"{"roles":["guest"],"last_name":"De\u0000kker"}"#)
            #expect(newCustomer.status == .badRequest)
            #expect(Self.problemField(newCustomer) == "last_name")
            let rule = try await client.send(
                .post, "/api/v1/segments/preview", token: mark,
                rawBody: """
                    {"rule":{"all":[{"field":"municipality","op":"in","value":["Haarlem","Bloemen\\u0000daal"]}]}}
                    """)
            #expect(rule.status == .badRequest)
            #expect(Self.problemField(rule) == "rule.all[0].value[1]")
            let template = try await client.send(
                .post, "/api/v1/templates", token: mark,
                rawBody: #"{"name":"x","subject":"Hallo\u0000","html":"<p>x</p>","text":"x"}"#)
            #expect(template.status == .badRequest)
            #expect(Self.problemField(template) == "subject")
            let consent = try await client.send(
                .post, "/api/v1/customers/\(customer.id.uuidString.lowercased())/consents", token: desk,
                rawBody: #"{"topic":"newsletter","status":"opted_in","evidence":{"form":"balie\u0000"}}"#)
            #expect(consent.status == .badRequest)
            #expect(Self.problemField(consent) == "evidence.form")

            // JSON in a query parameter (an import's column mapping) is read the same way.
            let mapping = #"{"columns":{"Lenernummer\u0000":"member_number"}}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let upload = try await client.send(
                .post, "/api/v1/imports?kind=members&dry_run=true&mapping=\(mapping)", token: admin,
                rawBody: "Lenernummer\n1\n")
            #expect(upload.status == .badRequest)
            #expect(Self.problemField(upload) == "mapping.columns")

            // An escaped backslash before u0000 is text, not NUL: the same consent is recorded.
            let literal = try await client.send(
                .post, "/api/v1/customers/\(customer.id.uuidString.lowercased())/consents", token: desk,
                rawBody: #"{"topic":"newsletter","status":"opted_in","evidence":{"form":"balie\\u0000"}}"#)
            #expect(literal.status == .created)
        }
    }

    @Test func complaintsAndTasksChangeWithoutAStatus() async throws {
        let t = try await TwoTenants.make(suite: "HostilePatch")
        let frontdesk = try await t.env.createUser(in: t.a, role: .frontdesk)
        let relations = try await t.env.createUser(in: t.a, role: .relations)
        let customers = (try await t.env.createCustomer(in: t.a).id, try await t.env.createCustomer(in: t.a).id)
        let fixtures = try await t.env.createActivityFixtures(in: t.a, customers: customers)
        let relationFixtures = try await t.env.createRelationFixtures(in: t.a)
        try await t.env.application(t.services).test(.router) { client in
            let desk = try await client.login(email: frontdesk.email, tenant: t.a.slug.value).access
            let rel = try await client.login(email: relations.email, tenant: t.a.slug.value).access
            let complaint = try await client.send(
                .patch, "/api/v1/complaints/\(fixtures.complaint.uuidString.lowercased())", token: desk,
                json: ["owner_user_id": frontdesk.id.uuidString.lowercased()])
            #expect(complaint.status == .ok)
            #expect(complaint["status"] as? String == "new")
            #expect(try await client.send(.patch, "/api/v1/complaints/\(UUID())", token: desk, json: [:]).status == .notFound)

            let task = try await client.send(
                .patch, "/api/v1/tasks/\(relationFixtures.task.uuidString.lowercased())", token: rel,
                json: ["title": "Terugbellen over de leskisten"])
            #expect(task.status == .ok)
            #expect(task["status"] as? String == "open")
            #expect(try await client.send(.patch, "/api/v1/tasks/\(UUID())", token: rel, json: [:]).status == .notFound)
        }
    }

    @Test func aConsentNamingAnUnknownParentIs422AndAnotherLibrarysIdIsAudited() async throws {
        let t = try await TwoTenants.make(suite: "HostileParent")
        let frontdesk = try await t.env.createUser(in: t.a, role: .frontdesk)
        let adult = try await t.env.createCustomer(in: t.a)
        let otherLibrarys = try await t.env.createCustomer(in: t.b)
        try await t.env.application(t.services).test(.router) { client in
            let desk = try await client.login(email: frontdesk.email, tenant: t.a.slug.value).access
            let before = try await t.tenantAuditCount("access.unknown_customer", tenant: t.a)
            for status in ["opted_in", "withdrawn"] {
                let response = try await client.send(
                    .post, "/api/v1/customers/\(adult.id.uuidString.lowercased())/consents", token: desk,
                    json: [
                        "topic": "newsletter", "status": status,
                        "given_by_parent_id": otherLibrarys.id.uuidString.lowercased(),
                    ])
                #expect(response.status == .unprocessableContent)
                #expect(Self.problemField(response) == "given_by_parent_id")
            }
            #expect(try await t.tenantAuditCount("access.unknown_customer", tenant: t.a) == before + 2)
            // Nothing was recorded, in either library.
            let consents = try await t.env.db.withTenant(t.a) { tx in
                try await tx.query("SELECT count(*) FROM consents WHERE customer_id = \(adult.id)").decode(Int.self).reduce(0, +)
            }
            #expect(consents == 0)
        }
    }

    /// The database's own refusals of client input map to 4xx without SQL; anything else stays a 500.
    @Test(arguments: [
        ("SELECT 'geen getal'::int", 422, "22P02"),
        ("SELECT '2026-13-45'::date", 422, "22008"),
        ("INSERT INTO household_links (parent_id, child_id, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), now())", 422, "23503"),
        (
            "INSERT INTO complaints (id, channel, category, status, due_at, created_at, updated_at) VALUES (gen_random_uuid(), 'desk', NULL, 'new', now(), now(), now())",
            422, "23502"
        ),
        (
            "INSERT INTO complaints (id, channel, category, status, due_at, created_at, updated_at) VALUES (gen_random_uuid(), 'fax', 'x', 'new', now(), now(), now())",
            422, "23514"
        ),
        ("SELECT * FROM no_such_table", 500, "42P01"),
        ("SELECT 1 / 0", 500, "22012"),
    ])
    func databaseRefusalsOfInputAreClientErrors(sql: String, status: Int, sqlState: String) async throws {
        let env = try await TestEnvironment.forSuite("HostileSQLState")
        let tenant = try await env.createTenant("t")
        var caught: PSQLError?
        do {
            try await env.db.withTenant(tenant) { tx in try await tx.query(PostgresQuery(unsafeSQL: sql)) }
        } catch let error as PSQLError {
            caught = error
        }
        let error = try #require(caught)
        #expect(error.serverInfo?[.sqlState] == sqlState)
        let problem = ProblemMiddleware.databaseProblem(error, logger: Logger(label: "test"))
        #expect(problem.status == status)
        #expect(!(problem.detail ?? "").contains("household_links"))
        #expect(!(problem.detail ?? "").lowercased().contains("sql"))
    }

    @Test func idsAreWrittenInLowerCaseAndReadInEither() async throws {
        let t = try await TwoTenants.make(suite: "HostileUUIDCase")
        let frontdesk = try await t.env.createUser(in: t.a, role: .frontdesk)
        let customer = try await t.env.createCustomer(in: t.a)
        try await t.env.application(t.services).test(.router) { client in
            let desk = try await client.login(email: frontdesk.email, tenant: t.a.slug.value).access
            let upper = try await client.send(.get, "/api/v1/customers/\(customer.id.uuidString.uppercased())", token: desk)
            #expect(upper.status == .ok)
            #expect(upper.text.contains(customer.id.uuidString.lowercased()))
            #expect(!upper.text.contains(customer.id.uuidString.uppercased()))
            let me = try await client.send(.get, "/api/v1/me", token: desk)
            #expect(me.text.contains(frontdesk.id.uuidString.lowercased()))
            // Every UUID-shaped value in the answer is lower case.
            let uuidPattern = try Regex("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
            let found = upper.text.matches(of: uuidPattern).map { String(upper.text[$0.range]) }
            #expect(!found.isEmpty)
            #expect(found.allSatisfy { $0 == $0.lowercased() })
            // Dates keep their ISO 8601 strategy, keys their snake_case.
            let created = try #require((upper["customer"] as? [String: Any])?["created_at"] as? String)
            #expect(created.hasSuffix("Z") && created.contains("T"))
        }
    }

    /// A one-off draft with neither list nor segment is cancelled (it broke the audience rule, a 422 from the database).
    @Test func aDraftWithoutAnAudienceCanBeCancelled() async throws {
        let t = try await TwoTenants.make(suite: "HostileCancelDraft")
        let marketing = try await t.env.createUser(in: t.a, role: .marketing)
        try await t.env.application(t.services).test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: t.a.slug.value).access
            let draft = try await client.send(.post, "/api/v1/campaigns", token: token, json: ["name": "Nog zonder publiek"])
            #expect(draft.status == .created)
            let id = try #require(draft["id"] as? String)
            let cancelled = try await client.send(.post, "/api/v1/campaigns/\(id)/cancel", token: token)
            #expect(cancelled.status == .ok)
            #expect(cancelled["state"] as? String == "cancelled")
        }
    }

    /// A second branch with a taken name is the documented 422 on `name`, not a conflict from the database.
    @Test func aTakenBranchNameIs422() async throws {
        let t = try await TwoTenants.make(suite: "HostileBranchName")
        try await t.env.application(t.services).test(.router) { client in
            let token = try await client.login(email: t.adminA.email, tenant: t.a.slug.value).access
            let branch: [String: Any] = ["name": "Bibliotheek Noord", "municipality": "Haarlem"]
            #expect(try await client.send(.post, "/api/v1/branches", token: token, json: branch).status == .created)
            let again = try await client.send(.post, "/api/v1/branches", token: token, json: branch)
            #expect(again.status == .unprocessableContent)
            #expect(Self.problemField(again) == "name")
        }
    }

    /// A public address that cannot carry one-click unsubscribe is refused when a campaign is scheduled, naming the
    /// setting, rather than failing every recipient after the snapshot.
    @Test func schedulingWithAnUnusablePublicAddressNamesTheSetting() async throws {
        let env = try await TestEnvironment.forSuite("HostilePublicURL")
        let tenant = try await env.createTenant("t")
        let marketing = try await env.createUser(in: tenant, role: .marketing)
        let services = try await env.services(
            clock: TestClock(Date()),
            configure: {
                $0.links = PublicLinks(baseURL: "http://kring.example", signer: TestEnvironment.links.signer)
            })
        try await env.application(services).test(.router) { client in
            let token = try await client.login(email: marketing.email, tenant: tenant.slug.value).access
            let draft = try await client.send(.post, "/api/v1/campaigns", token: token, json: ["name": "Weekbrief"])
            let id = try #require(draft["id"] as? String)
            let scheduled = try await client.send(.post, "/api/v1/campaigns/\(id)/schedule", token: token, json: [:])
            #expect(scheduled.status == .conflict)
            #expect((scheduled["detail"] as? String)?.contains("KRING_PUBLIC_URL") == true)
        }
    }

    /// A form a public page cannot read (a NUL in a field) is the visitor's error page, not a 500.
    @Test func aNULInAPublicFormIsAClientError() async throws {
        let env = try await TestEnvironment.forSuite("HostilePublicForm")
        try await env.application(try await env.services(clock: TestClock(Date()))).test(.router) { client in
            let response = try await client.postForm("/wachtwoord/krs_abcdef", [("password", "een lange\u{0}zin hier"), ("password_again", "x")])
            #expect(response.status == .badRequest)
            #expect(response.text.contains("Het formulier kon niet worden gelezen"))
        }
    }

    /// The JSON of the API is Foundation's but for the case of UUIDs: dictionary keys, dates and nesting are as they were.
    @Test func theEncoderChangesOnlyTheCaseOfIds() throws {
        struct Inner: Encodable {
            let ids: [UUID]
            let maybe: UUID?
            let missing: UUID?
            let at: Date
        }
        struct Outer: Encodable {
            let ownerID: UUID
            let details: [String: String]
            let inner: Inner
            let list: [Inner]
            let counts: [String: Int]
        }
        let id = UUID()
        let value = Outer(
            ownerID: id, details: ["clientAddress": "x", "Lenernummer": "1"],
            inner: Inner(ids: [id, id], maybe: id, missing: nil, at: Date(timeIntervalSince1970: 1_800_000_000)),
            list: [Inner(ids: [], maybe: nil, missing: nil, at: Date(timeIntervalSince1970: 0))], counts: ["aB": 1])
        let plain = JSONEncoder()
        plain.keyEncodingStrategy = .convertToSnakeCase
        plain.dateEncodingStrategy = .iso8601
        plain.outputFormatting = [.sortedKeys]
        let expected = String(decoding: try plain.encode(value), as: UTF8.self).replacingOccurrences(
            of: id.uuidString, with: id.uuidString.lowercased())
        let ours = String(decoding: try KringJSONEncoder().encode(value), as: UTF8.self)
        #expect(ours == expected)
        #expect(ours.contains("\"Lenernummer\"") && ours.contains("\"owner_id\""))
        // A dictionary at the top keeps its keys too.
        #expect(String(decoding: try KringJSONEncoder().encode(["camelKey": 1]), as: UTF8.self) == #"{"camelKey":1}"#)
    }

    @Test func aDecomposedAddressIsTheSameAddress() {
        let composed = EmailAddress("zo\u{00EB}@example.nl")
        let decomposed = EmailAddress("Zoe\u{0308}@Example.nl")
        #expect(composed != nil)
        #expect(composed?.value.utf8.elementsEqual(decomposed?.value.utf8 ?? "".utf8) == true)
        #expect(CustomerPrivacy.emailHash("zoe\u{0308}@example.nl") == CustomerPrivacy.emailHash("zo\u{00EB}@example.nl"))
    }
}
