import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Segmenten against a real PostgreSQL: the builder's count is the API preview's count, its messages land at the
/// node in Dutch, saving makes versions, an analyst counts without seeing anyone, and another library's segment is
/// out of reach.
@Suite("Segment pages") struct SegmentPagesTests {
    struct Result: Decodable {
        struct Person: Decodable {
            let name: String
            let href: String
        }
        struct NodeError: Decodable {
            let path: String
            let message: String
        }
        let count: Int?
        let text: String
        let sample: [Person]
        let errors: [NodeError]
    }

    static func json(_ rule: SegmentRule) throws -> String { String(decoding: try JSONEncoder().encode(rule), as: UTF8.self) }

    /// 25 adults and 5 young people, two of the adults with an ended membership.
    static func customers(in tenant: Tenant, env: TestEnvironment, now: Date) async throws {
        try await env.db.withTenant(tenant) { tx in
            for index in 0..<30 {
                var draft = CustomerDraft(roles: ["member"])
                draft.firstName = "Klant"
                draft.lastName = "Nummer\(index)"
                draft.memberNumber = "80000\(100 + index)"
                draft.memberType = index < 25 ? "adult" : "youth"
                draft.membershipStatus = index < 2 ? "ended" : "active"
                draft.birthDate = index < 25 ? "1980-05-0\(index % 9 + 1)" : "2015-05-01"
                _ = try await Customers.create(try draft.validate(today: CalendarDate(now)), by: .system, now: now, in: tx)
            }
        }
    }

    @Test func theBuilderCountsAsThePreviewDoesSavesVersionsAndShowsMessagesAtTheNode() async throws {
        let env = try await TestEnvironment.forSuite("WebSegments")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("ws")
        let marketer = try await env.createUser(in: tenant, role: .marketing)
        try await Self.customers(in: tenant, env: env, now: clock.now)
        let rule = SegmentRule.all([
            .condition(SegmentCondition(field: "membership_status", op: "=", value: "active")),
            .condition(SegmentCondition(field: "member_type", op: "in", value: ["adult"])),
        ])
        let expected = try await env.db.withTenant(tenant) { tx in
            try await Segments.preview(rule, withSample: false, by: .system, now: clock.now, in: tx).count
        }
        #expect(expected == 23)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketer.email, password: TestEnvironment.password, library: tenant.slug.value)
            #expect(try await browser.get("/").contains("href=\"/campagnes\""))
            let list = try await browser.get("/campagnes/segmenten")
            #expect(list.status == .ok)
            #expect(list.contains("Er zijn nog geen segmenten."))
            let builder = try await browser.get("/campagnes/segmenten/nieuw")
            #expect(builder.status == .ok)
            // The catalogue offers only each field's operators, with the library's values, in Dutch.
            let catalogue = try #require(builder.html.firstMatch(of: /data-catalogue="([^"]*)"/)).output.1
            let decoded = Browser.Page.decode(String(catalogue))
            #expect(decoded.contains("\"label\":\"Leeftijd\""))
            #expect(decoded.contains("\"label\":\"volwassene\""))
            #expect(!decoded.contains("\"name\":\"dmu_role\""))
            // The live count: the same number as the preview, with the first 20 for marketing.
            let counted = try await browser.post(
                "/campagnes/segmenten/nieuw", [("action", "count"), ("rule", try Self.json(rule))], accept: "application/json")
            let result = try JSONDecoder().decode(Result.self, from: Data(counted.html.utf8))
            #expect(result.count == expected)
            #expect(result.text == "23 klanten")
            #expect(result.sample.count == 20)
            #expect(result.sample.allSatisfy { $0.href.hasPrefix("/klanten/") })
            // A message at the node it concerns, in Dutch.
            let broken = try await browser.post(
                "/campagnes/segmenten/nieuw",
                [("action", "count"), ("rule", #"{"all": [{"field": "age", "op": "between", "value": [65, 18]}, {"any": []}]}"#)],
                accept: "application/json")
            let errors = try JSONDecoder().decode(Result.self, from: Data(broken.html.utf8))
            #expect(errors.count == nil)
            #expect(errors.errors.map(\.path).sorted() == ["rule.all[0].value", "rule.all[1].any"])
            #expect(errors.errors.map(\.message).contains("De ondergrens ligt boven de bovengrens."))
            #expect(errors.errors.map(\.message).contains("Voeg minstens één voorwaarde toe."))
            // Without the script: Tellen shows the count on the page.
            let page = try await browser.post("/campagnes/segmenten/nieuw", [("action", "count"), ("rule", try Self.json(rule)), ("name", "")])
            #expect(page.status == .ok)
            #expect(page.contains("23 klanten"))
            // Saving: a name is needed; then version 1, a change makes version 2, an old version can be read.
            let nameless = try await browser.post("/campagnes/segmenten/nieuw", [("action", "save"), ("rule", try Self.json(rule)), ("name", " ")])
            #expect(nameless.status == .unprocessableContent)
            #expect(nameless.contains("Geef het segment een naam."))
            let saved = try await browser.post(
                "/campagnes/segmenten/nieuw", [("action", "save"), ("rule", try Self.json(rule)), ("name", "Actieve volwassenen")])
            #expect(saved.status == .seeOther)
            let location = try #require(saved.location)
            #expect(location.hasPrefix("/campagnes/segmenten/") && location.hasSuffix("?gedaan=opgeslagen"))
            let path = String(location.prefix { $0 != "?" })
            let shown = try await browser.get(location)
            #expect(shown.contains("Het segment is opgeslagen."))
            #expect(shown.contains("<h1>Actieve volwassenen</h1>"))
            let wider = SegmentRule.condition(SegmentCondition(field: "membership_status", op: "=", value: "active"))
            let second = try await browser.post(
                path, [("action", "save"), ("rule", try Self.json(wider)), ("name", "Actieve leden"), ("version", "1")])
            #expect(second.status == .seeOther)
            let current = try await browser.get(path)
            #expect(current.contains("<h1>Actieve leden</h1>"))
            #expect(current.contains("href=\"\(path)?versie=1\""))
            let first = try await browser.get("\(path)?versie=1")
            #expect(first.contains("U bekijkt versie 1. Opslaan maakt er versie 3 van."))
            #expect(first.contains("member_type"))
            // Saving over someone else's newer version is refused with a message.
            let stale = try await browser.post(path, [("action", "save"), ("rule", try Self.json(rule)), ("name", "Oud"), ("version", "1")])
            #expect(stale.status == .unprocessableContent)
            #expect(stale.contains("Iemand anders heeft dit segment intussen opgeslagen (nu versie 2)"))
            // Count now, from the list.
            let id = String(path.dropFirst("/campagnes/segmenten/".count))
            let uncounted = try await browser.get("/campagnes/segmenten")
            #expect(uncounted.contains("href=\"/campagnes/segmenten?tellen=\(id)#s-\(id)\">Nu tellen"))
            let listed = try await browser.get("/campagnes/segmenten?tellen=\(id)")
            #expect(listed.contains("28 klanten nu"))
        }
        let (versions, previewed) = try await env.db.withTenant(tenant) { tx in
            let versions = try await tx.query("SELECT count(*)::int FROM segment_versions").decode(Int.self).first { _ in true }
            let previewed = try await tx.query(
                "SELECT count(*)::int FROM audit_log WHERE action = 'segment.previewed' AND actor_user_id = \(marketer.id) AND details ? 'shown_customers'"
            ).decode(Int.self).first { _ in true }
            return (versions, previewed)
        }
        #expect(versions == 2)
        #expect((previewed ?? 0) >= 2)
    }

    @Test func anAnalystCountsWithoutSeeingAnyoneAndCannotSave() async throws {
        let env = try await TestEnvironment.forSuite("WebSegments")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wsa")
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        try await Self.customers(in: tenant, env: env, now: clock.now)
        let rule = SegmentRule.condition(SegmentCondition(field: "member_type", op: "=", value: "youth"))
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let builder = try await browser.get("/campagnes/segmenten/nieuw")
            #expect(builder.status == .ok)
            #expect(!builder.contains("value=\"save\""))
            #expect(!builder.contains("Nieuw segment</a>"))
            let counted = try await browser.post(
                "/campagnes/segmenten/nieuw", [("action", "count"), ("rule", try Self.json(rule))], accept: "application/json")
            let result = try JSONDecoder().decode(Result.self, from: Data(counted.html.utf8))
            #expect(result.count == 5)
            #expect(result.sample.isEmpty)
            let page = try await browser.post("/campagnes/segmenten/nieuw", [("action", "count"), ("rule", try Self.json(rule))])
            #expect(page.contains("5 klanten"))
            #expect(!page.contains("/klanten/"))
            let save = try await browser.post("/campagnes/segmenten/nieuw", [("action", "save"), ("rule", try Self.json(rule)), ("name", "Jeugd")])
            #expect(save.status == .forbidden)
        }
    }

    @Test func anotherLibrarysSegmentAnswersTheNotFoundPage() async throws {
        let env = try await TestEnvironment.forSuite("WebSegments")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wsx")
        let libraryB = try await env.createTenant("wsy")
        let segmentA = try await env.db.withTenant(libraryA) { tx in
            try await Segments.create(
                SegmentDraft(name: "Geheim segment", rule: .condition(SegmentCondition(field: "age", op: ">=", value: 18))), by: .system,
                now: clock.now, in: tx
            ).id
        }
        let marketerB = try await env.createUser(in: libraryB, role: .marketing)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(marketerB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let path = "/campagnes/segmenten/\(segmentA.uuidString.lowercased())"
            let page = try await browser.get(path)
            #expect(page.status == .notFound)
            #expect(!page.contains("Geheim segment"))
            try await browser.get("/campagnes/segmenten")
            let saved = try await browser.post(
                path, [("action", "save"), ("name", "Overgenomen"), ("version", "1"), ("rule", #"{"field": "age", "op": ">=", "value": 30}"#)])
            #expect(saved.status == .notFound)
            let list = try await browser.get("/campagnes/segmenten?tellen=\(segmentA.uuidString.lowercased())")
            #expect(!list.contains("Geheim segment"))
            #expect(!list.contains("klanten nu"))
        }
        let unchanged = try await env.db.withTenant(libraryA) { tx in
            try await tx.query("SELECT name, version FROM segments WHERE id = \(segmentA)").decode((String, Int).self).first { _ in true }
        }
        #expect(unchanged?.0 == "Geheim segment" && unchanged?.1 == 1)
    }
}
