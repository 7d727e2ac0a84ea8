import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Every web route, walked by every role: a page the role may use answers it, any other answers the 403 page;
/// a platform administrator has no business in a library's pages. The web app asks the API's permission matrix.
@Suite("Web role walk") struct WebRoleWalkTests {
    struct Route: Sendable, CustomStringConvertible {
        let method: HTTPRequest.Method
        let path: String
        /// Nil: every signed-in person.
        let permission: Permission?
        let form: [(String, String)]

        var description: String { "\(method) \(path)" }
    }

    static let routes: [Route] = [
        Route(method: .get, path: "/klanten", permission: .customersRead, form: []),
        Route(method: .get, path: "/klanten?q=Dekker", permission: .customersRead, form: []),
        Route(method: .get, path: "/klanten/{c}", permission: .customersRead, form: []),
        Route(method: .get, path: "/klanten/{c}/bewerken", permission: .customersWrite, form: []),
        Route(method: .get, path: "/klanten/{c}/contactmoment", permission: .customersWrite, form: []),
        Route(method: .get, path: "/klanten/{c}/toestemming", permission: .consentsWrite, form: []),
        Route(method: .get, path: "/klanten/nieuw", permission: .customersWrite, form: []),
        Route(method: .get, path: "/klanten/stille-leden?maanden=6&open=ja", permission: .customersRead, form: []),
        Route(
            method: .post, path: "/klanten/stille-leden/{c}/contact", permission: .customersWrite,
            form: [("terug", "/klanten/stille-leden?maanden=12")]),
        Route(method: .get, path: "/klanten/{c}/samenvoegen", permission: .customersWrite, form: []),
        Route(method: .get, path: "/klanten/{c}/export", permission: .customersExport, form: []),
        Route(method: .get, path: "/klanten/{c}/wissen", permission: .customersErase, form: []),
        Route(method: .post, path: "/klanten/{c}/wissen", permission: .customersErase, form: [("confirmation", "nee")]),
        Route(
            method: .post, path: "/klanten/{c}/contactmoment", permission: .customersWrite,
            form: [("channel", "desk"), ("direction", "inbound"), ("subject", "Vraag")]),
        Route(
            method: .post, path: "/klanten/{c}/toestemming", permission: .consentsWrite,
            form: [("topic", "newsletter:weekly"), ("status", "confirmed")]),
        Route(method: .post, path: "/klanten/{c}/bewerken", permission: .customersWrite, form: [("version", "1")]),
        Route(method: .get, path: "/activiteiten", permission: .activitiesRead, form: []),
        Route(method: .get, path: "/activiteiten/{a}", permission: .activitiesRead, form: []),
        Route(method: .get, path: "/activiteiten/{a}/deur", permission: .activitiesRead, form: []),
        Route(method: .get, path: "/activiteiten/nieuw", permission: .activitiesManage, form: []),
        Route(method: .get, path: "/activiteiten/{a}/bewerken", permission: .activitiesManage, form: []),
        Route(method: .post, path: "/activiteiten/nieuw", permission: .activitiesManage, form: [("title", "")]),
        Route(method: .post, path: "/activiteiten/{a}/aanmelden", permission: .registrationsWrite, form: [("klant", "")]),
        Route(method: .post, path: "/activiteiten/{a}/aanmeldingen/{r}", permission: .registrationsWrite, form: [("status", "attended")]),
        Route(method: .get, path: "/klachten", permission: .complaintsRead, form: []),
        Route(method: .get, path: "/klachten/{k}", permission: .complaintsRead, form: []),
        Route(method: .post, path: "/klachten/{k}", permission: .complaintsManage, form: [("action", "take")]),
        Route(method: .get, path: "/relaties", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties?soort=school&status=active&beheerder=ik&q=a", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties/{o}", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties/{o}/contact", permission: .relationsWrite, form: []),
        Route(
            method: .post, path: "/relaties/{o}/contact", permission: .relationsWrite,
            form: [("kind", "meeting"), ("date", "{today}"), ("subject", "Overleg {n}")]),
        Route(method: .get, path: "/relaties/{o}/bestellingen/nieuw", permission: .relationsWrite, form: []),
        Route(
            method: .post, path: "/relaties/{o}/bestellingen/nieuw", permission: .relationsWrite,
            form: [
                ("kind", "order"), ("title", "Voorleesprogramma"), ("start", "{today}"), ("quantity", "1"), ("amount", "250"), ("status", "ordered"),
            ]),
        Route(method: .get, path: "/relaties/{o}/bestellingen/{or}", permission: .relationsWrite, form: []),
        Route(method: .post, path: "/relaties/{o}/bestellingen/{or}", permission: .relationsWrite, form: [("version", "0"), ("title", "")]),
        Route(method: .get, path: "/relaties/{o}/overeenkomsten/nieuw", permission: .relationsWrite, form: []),
        Route(
            method: .post, path: "/relaties/{o}/overeenkomsten/nieuw", permission: .relationsWrite,
            form: [("kind", "performance"), ("title", "Leesplan"), ("start", "{today}"), ("status", "draft")]),
        Route(method: .get, path: "/relaties/{o}/overeenkomsten/{ag}", permission: .relationsWrite, form: []),
        Route(method: .post, path: "/relaties/{o}/overeenkomsten/{ag}", permission: .relationsWrite, form: [("version", "0"), ("title", "")]),
        Route(method: .get, path: "/relaties/import", permission: .relationsWrite, form: []),
        Route(method: .post, path: "/relaties/import", permission: .relationsWrite, form: [("kind", "organisations")]),
        Route(method: .get, path: "/relaties/personen", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties/personen?q=Visser", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties/personen/{p}", permission: .relationsRead, form: []),
        Route(method: .get, path: "/relaties/personen/{p}/verhuizen", permission: .relationsWrite, form: []),
        Route(method: .post, path: "/relaties/personen/{p}/verhuizen", permission: .relationsWrite, form: [("role", ""), ("date", "{today}")]),
        Route(method: .get, path: "/taken", permission: .relationsRead, form: []),
        Route(method: .post, path: "/taken/{t}/klaar", permission: .relationsWrite, form: []),
        Route(method: .get, path: "/campagnes", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/nieuw", permission: .campaignsWrite, form: []),
        Route(method: .post, path: "/campagnes/nieuw", permission: .campaignsWrite, form: [("name", ""), ("list", "")]),
        Route(method: .get, path: "/campagnes/{g}", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/{g}/voortgang", permission: .campaignsRead, form: []),
        Route(method: .post, path: "/campagnes/{g}/pauzeren", permission: .campaignsWrite, form: []),
        Route(method: .get, path: "/campagnes/lijsten", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/reeksen", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/sjablonen", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/sjablonen/nieuw", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/sjablonen/{t2}", permission: .campaignsRead, form: []),
        Route(
            method: .post, path: "/campagnes/sjablonen/nieuw", permission: .campaignsWrite,
            form: [("action", "save"), ("name", ""), ("subject", "Hoi"), ("html", "<p>Hoi</p>"), ("text", "Hoi")]),
        Route(
            method: .post, path: "/campagnes/sjablonen/{t2}", permission: .campaignsWrite,
            form: [("action", "preview"), ("subject", "Hoi"), ("html", "<p>Hoi</p>"), ("text", "Hoi"), ("recipient", "")]),
        Route(method: .get, path: "/campagnes/lijsten/{l}", permission: .campaignsRead, form: []),
        Route(method: .get, path: "/campagnes/segmenten", permission: .segmentsRead, form: []),
        Route(method: .get, path: "/campagnes/segmenten?tellen={s}", permission: .segmentsRead, form: []),
        Route(method: .get, path: "/campagnes/segmenten/nieuw", permission: .segmentsRead, form: []),
        Route(method: .get, path: "/campagnes/segmenten/{s}", permission: .segmentsRead, form: []),
        Route(method: .get, path: "/campagnes/segmenten/{s}?versie=1", permission: .segmentsRead, form: []),
        Route(method: .post, path: "/campagnes/segmenten/nieuw", permission: .segmentsRead, form: [("action", "count"), ("rule", "{\"all\": []}")]),
        Route(method: .post, path: "/campagnes/segmenten/{s}", permission: .segmentsRead, form: [("action", "count"), ("rule", "{}")]),
        Route(
            method: .post, path: "/campagnes/segmenten/{s}", permission: .segmentsWrite,
            form: [("action", "save"), ("name", "Leden {n}"), ("version", "1"), ("rule", "{\"field\": \"age\", \"op\": \">=\", \"value\": 18}")]),
        Route(
            method: .post, path: "/campagnes/segmenten/nieuw", permission: .segmentsWrite,
            form: [("action", "save"), ("name", ""), ("rule", "{\"field\": \"age\", \"op\": \">=\", \"value\": 18}")]),
        Route(method: .get, path: "/inzicht/kerncijfers", permission: .reportsRead, form: []),
        Route(method: .get, path: "/inzicht/kerncijfers.csv", permission: .reportsRead, form: []),
        Route(method: .get, path: "/inzicht/mosaic", permission: .reportsRead, form: []),
        Route(method: .get, path: "/inzicht/mosaic?rapport=inwoners&vergelijk=Haarlem", permission: .reportsRead, form: []),
        Route(method: .get, path: "/inzicht/mosaic.csv?rapport=leden", permission: .reportsRead, form: []),
        Route(method: .get, path: "/account", permission: nil, form: []),
        Route(method: .get, path: "/beheer/medewerkers", permission: .usersRead, form: []),
        Route(method: .post, path: "/beheer/medewerkers", permission: .usersManage, form: [("email", "nieuw@example.org"), ("role", "analyst")]),
        Route(method: .post, path: "/beheer/medewerkers/{u}", permission: .usersManage, form: [("action", "role"), ("role", "analyst")]),
        Route(method: .get, path: "/beheer/import", permission: .importsWrite, form: []),
        Route(method: .get, path: "/beheer/api-sleutels", permission: .apiKeysManage, form: []),
        Route(
            method: .post, path: "/beheer/api-sleutels", permission: .apiKeysManage,
            form: [("name", "Wise"), ("scope", "imports:write"), ("days", "90")]),
        Route(method: .get, path: "/beheer/vestigingen", permission: .branchesManage, form: []),
        Route(
            method: .post, path: "/beheer/vestigingen", permission: .branchesManage, form: [("name", "Vestiging {n}"), ("municipality", "Haarlem")]),
        Route(method: .get, path: "/beheer/instellingen", permission: .settingsManage, form: []),
        Route(method: .post, path: "/beheer/instellingen", permission: .settingsManage, form: [("complaint_due_days", "10")]),
        Route(method: .get, path: "/platform", permission: .tenantsManage, form: []),
        Route(method: .post, path: "/platform/bibliotheken", permission: .tenantsManage, form: [("slug", "")]),
        Route(method: .get, path: "/platform/bibliotheken/{lib}", permission: .tenantsManage, form: []),
        Route(method: .post, path: "/platform/bibliotheken/{lib}/status", permission: .tenantsManage, form: [("status", "active"), ("reason", "")]),
        Route(method: .get, path: "/platform/cijfers", permission: .tenantsManage, form: []),
        Route(method: .get, path: "/platform/cijfers.csv", permission: .tenantsManage, form: []),
        Route(method: .get, path: "/platform/gezondheid", permission: .tenantsManage, form: []),
        Route(method: .get, path: "/platform/mosaic", permission: .tenantsManage, form: []),
        Route(method: .post, path: "/platform/mosaic", permission: .tenantsManage, form: []),
    ]

    @Test(arguments: Role.allCases)
    func everyWebRouteAnswersByThePermissionMatrix(role: Role) async throws {
        let env = try await TestEnvironment.forSuite("WebRoles")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wr")
        let caller = try await env.createUser(in: role == .platformAdmin ? nil : tenant, role: role)
        let colleague = try await env.createUser(in: tenant, role: .analyst)
        let (customer, other) = (try await WebAppTests.customer(in: tenant, env: env), try await WebAppTests.customer(in: tenant, env: env))
        let (activity, registration, complaint) = try await env.db.withTenant(tenant) { tx in
            let activity = try await Activities.create(
                ActivityDraft(title: "Taalcafé", category: "taal", startsAt: clock.now + 3600, endsAt: clock.now + 7200),
                by: .system, now: clock.now, in: tx)
            let registration = try await Activities.register(
                customerID: other.id, activityID: activity.id, source: .staff, pricePaidCents: 0,
                by: .system, now: clock.now, in: tx)
            let complaint = try await Complaints.create(
                ComplaintDraft(customerID: customer.id, channel: "desk", category: "boete", description: "Te hoog"),
                by: .system, now: clock.now, in: tx)
            return (activity.id, registration.id, complaint.id)
        }
        let organisation = try await env.db.withTenant(tenant) { tx in
            try await Organisations.create(
                try OrganisationDraft(name: "OBS De Linde", type: "primary_school", status: "active").validate(), by: .system, now: clock.now,
                in: tx
            ).id
        }
        let person = try await env.db.withTenant(tenant) { tx in
            try await Contacts.create(
                try ContactDraft(
                    firstName: "Anouk", lastName: "Visser", roles: [ContactRoleDraft(organisationID: organisation, dmuRole: "decision_maker")]
                ).validate(today: CalendarDate(clock.now)), by: .system, now: clock.now, in: tx
            ).contact.id
        }
        let (order, agreement) = try await env.db.withTenant(tenant) { tx in
            let order = try await Orders.create(
                try OrderDraft(organisationID: organisation, product: "Boekenpakket", periodStart: "2026-01-01", amountCents: 5000).validate(),
                by: .system, now: clock.now, in: tx)
            let agreement = try await Agreements.create(
                try AgreementDraft(organisationID: organisation, kind: "performance", title: "Leesplan", periodStart: "2026-01-01").validate(),
                by: .system, now: clock.now, in: tx)
            return (order.id, agreement.id)
        }
        let segment = try await env.db.withTenant(tenant) { tx in
            try await Segments.create(
                SegmentDraft(name: "Volwassenen", rule: .condition(SegmentCondition(field: "age", op: ">=", value: 18))), by: .system, now: clock.now,
                in: tx
            ).id
        }
        let list = UUID()
        try await env.db.withTenant(tenant) { tx in
            _ = try await tx.query(
                """
                INSERT INTO lists (id, key, name, consent_text, consent_version, created_at, updated_at)
                VALUES (\(list), 'nieuwsbrief', 'Nieuwsbrief', 'Ja, stuur mij de nieuwsbrief.', 'v1', \(clock.now), \(clock.now))
                """)
        }
        let (campaign, template) = try await env.db.withTenant(tenant) { tx in
            let template = try await Templates.create(
                TemplateDraft(name: "Nieuws", subject: "Nieuws", html: "<p>Nieuws</p>", text: "Nieuws"), by: .system, now: clock.now, in: tx)
            let campaign = try await Campaigns.create(
                CampaignDraft(name: "Decembernieuws", segmentID: segment, templateID: template.id), by: .system, now: clock.now, in: tx
            ).id
            return (campaign, template.id)
        }
        let task = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.create(
                try TaskDraft(title: "Bellen", dueOn: CalendarDate(clock.now).description, assigneeUserID: caller.id).validate(), by: .system,
                now: clock.now, in: tx
            ).id
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            if role == .platformAdmin {
                let afterPassword = try await browser.signIn(caller.email, password: TestEnvironment.password, library: "probiblio")
                #expect(afterPassword.location == "/inloggen/code")
                try await browser.get("/inloggen/code")
                let done = try await browser.post("/inloggen/code", [("code", TestEnvironment.platformCode(at: clock.now))])
                #expect(done.location == "/")
                #expect(try await browser.get("/").location == "/platform")
            } else {
                let signedIn = try await browser.signIn(caller.email, password: TestEnvironment.password, library: tenant.slug.value)
                #expect(signedIn.location == "/")
                #expect(try await browser.get("/").status == .ok)
            }
            let permissions = PermissionMatrix.permissions(of: role)
            for route in Self.routes {
                let path = route.path.replacingOccurrences(of: "{lib}", with: tenant.slug.value)
                    .replacingOccurrences(of: "{c}", with: customer.id.uuidString.lowercased())
                    .replacingOccurrences(of: "{a}", with: activity.uuidString.lowercased())
                    .replacingOccurrences(of: "{r}", with: registration.uuidString.lowercased())
                    .replacingOccurrences(of: "{k}", with: complaint.uuidString.lowercased())
                    .replacingOccurrences(of: "{u}", with: colleague.id.uuidString.lowercased())
                    .replacingOccurrences(of: "{t}", with: task.uuidString.lowercased())
                    .replacingOccurrences(of: "{or}", with: order.uuidString.lowercased())
                    .replacingOccurrences(of: "{ag}", with: agreement.uuidString.lowercased())
                    .replacingOccurrences(of: "{o}", with: organisation.uuidString.lowercased())
                    .replacingOccurrences(of: "{p}", with: person.uuidString.lowercased())
                    .replacingOccurrences(of: "{s}", with: segment.uuidString.lowercased())
                    .replacingOccurrences(of: "{g}", with: campaign.uuidString.lowercased())
                    .replacingOccurrences(of: "{l}", with: list.uuidString.lowercased())
                    .replacingOccurrences(of: "{t2}", with: template.uuidString.lowercased())
                try await browser.get("/account")  // a fresh form token for the posts
                let form = route.form.map {
                    (
                        $0.0,
                        $0.1.replacingOccurrences(of: "{n}", with: UUID().uuidString.prefix(6).lowercased())
                            .replacingOccurrences(of: "{today}", with: CalendarDate(clock.now).description)
                    )
                }
                let page = route.method == .get ? try await browser.get(path) : try await browser.post(path, form)
                let allowed = route.permission.map { permissions.contains($0) } ?? true
                if allowed {
                    #expect(page.status != .forbidden && page.status != .notFound && page.status.code < 500, "\(role) \(route): \(page.status)")
                    if route.method == .get { #expect(page.status == .ok, "\(role) \(route): \(page.status)") }
                } else {
                    #expect(page.status == .forbidden, "\(role) \(route): \(page.status)")
                    #expect(page.contains("Geen toegang"), "\(role) \(route)")
                }
                // The navigation offers only what the role may use.
                if page.status == .ok, page.headers[.contentType]?.hasPrefix("text/html") == true {
                    #expect(page.contains("href=\"/klanten\"") == permissions.contains(.customersRead), "\(role) nav Klanten")
                    #expect(page.contains("href=\"/klachten\"") == permissions.contains(.complaintsRead), "\(role) nav Klachten")
                    #expect(page.contains("href=\"/beheer\"") == permissions.contains(.usersRead), "\(role) nav Beheer")
                    #expect(page.contains("href=\"/taken\"") == permissions.contains(.relationsRead), "\(role) nav Taken")
                    #expect(page.contains("href=\"/relaties\"") == permissions.contains(.relationsRead), "\(role) nav Relaties")
                    #expect(page.contains("href=\"/campagnes\"") == permissions.contains(.campaignsRead), "\(role) nav Campagnes")
                    #expect(page.contains("href=\"/inzicht\"") == permissions.contains(.reportsRead), "\(role) nav Inzicht")
                }
            }
        }
    }
}
