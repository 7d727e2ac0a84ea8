import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Logging
import Testing

/// The "must show" scenarios over HTTP, as an account manager (role `relations`) works.
@Suite struct RelationsRoutesTests {
    /// Wednesday 2026-11-25, 12:00 UTC.
    static let start = Date(timeIntervalSince1970: 1_795_608_000)

    struct Setting {
        let env: TestEnvironment
        let clock: TestClock
        let services: AppServices
        let tenant: Tenant
        let manager: (id: UUID, email: String)
    }

    func setUp() async throws -> Setting {
        let env = try await TestEnvironment.forSuite("RelationsRoutes")
        let clock = TestClock(Self.start)
        let services = try await env.services(clock: clock)
        let tenant = try await env.createTenant("rel")
        let manager = try await env.createUser(in: tenant, role: .relations)
        return Setting(env: env, clock: clock, services: services, tenant: tenant, manager: manager)
    }

    func id(_ response: JSONResponse, _ path: String...) throws -> String {
        var value: Any? = response.json
        for key in path { value = (value as? [String: Any])?[key] }
        return try #require(value as? String, "\(path) in \(response.text)")
    }

    @Test func schoolBoardWithThreeSchoolsAndAMoveThatKeepsHistory() async throws {
        let setting = try await setUp()
        let app = setting.env.application(setting.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: setting.manager.email, tenant: setting.tenant.slug.value).access
            let type = try await client.send(
                .post, "/api/v1/organisation-types", token: token, json: ["code": "school_board", "name": "Schoolbestuur"])
            #expect(type.status == .created)
            let board = try await client.send(
                .post, "/api/v1/organisations", token: token,
                json: [
                    "name": "Stichting Spaarnesant", "type": "school_board", "postcode": "2013 ZK",
                    "account_owner_user_id": setting.manager.id.uuidString,
                ])
            #expect(board.status == .created, "\(board.text)")
            let boardID = try id(board, "id")
            var schools: [String] = []
            var people: [String: String] = [:]
            for (index, name) in ["De Ster", "Het Kompas", "De Regenboog"].enumerated() {
                let school = try await client.send(
                    .post, "/api/v1/organisations", token: token,
                    json: ["name": name, "type": "primary_school", "postcode": "201\(index + 1) AB", "parent_id": boardID])
                #expect(school.status == .created, "\(school.text)")
                let schoolID = try id(school, "id")
                schools.append(schoolID)
                for (role, last) in [("decision_maker", "Directeur"), ("advisor", "Leescoordinator"), ("gatekeeper", "Administratie")] {
                    let contact = try await client.send(
                        .post, "/api/v1/contacts", token: token,
                        json: [
                            "first_name": "Sam", "last_name": "\(last) \(index)", "email": "\(role)-\(index)@scholen.example",
                            "roles": [["organisation_id": schoolID, "dmu_role": role, "job_title": last, "active_from": "2024-08-01"]],
                        ])
                    #expect(contact.status == .created, "\(contact.text)")
                    people["\(index) \(role)"] = try id(contact, "contact", "id")
                }
            }

            // The reading coordinator of De Ster leaves yesterday and starts at Het Kompas today.
            let mover = try #require(people["0 advisor"])
            let detail = try await client.send(.get, "/api/v1/contacts/\(mover)", token: token)
            let oldRole = try #require(((detail["roles"] as? [[String: Any]])?.first)?["id"] as? String)
            let ended = try await client.send(.patch, "/api/v1/contacts/\(mover)/roles/\(oldRole)", token: token, json: ["active_to": "2026-11-24"])
            #expect(ended.status == .ok, "\(ended.text)")
            let started = try await client.send(
                .post, "/api/v1/contacts/\(mover)/roles", token: token,
                json: ["organisation_id": schools[1], "dmu_role": "advisor", "job_title": "Leescoordinator"])
            #expect(started.status == .created, "\(started.text)")
            let history = try await client.send(.get, "/api/v1/contacts/\(mover)", token: token)
            let roles = history["roles"] as? [[String: Any]] ?? []
            #expect(roles.compactMap { $0["organisation_name"] as? String } == ["Het Kompas", "De Ster"])
            #expect(roles.map { $0["active_to"] as? String } == [nil, "2026-11-24"])

            func dmu(_ school: String) async throws -> [String: [String]] {
                let view = try await client.send(.get, "/api/v1/organisations/\(school)", token: token)
                #expect(view.status == .ok)
                let groups = view["dmu"] as? [String: [[String: Any]]] ?? [:]
                return groups.mapValues { $0.compactMap { $0["contact_id"] as? String } }
            }
            let ster = try await dmu(schools[0])
            #expect(ster["decision_maker"] == [people["0 decision_maker"]].compactMap { $0 })
            #expect(ster["advisor"] == [])
            #expect(ster["gatekeeper"] == [people["0 gatekeeper"]].compactMap { $0 })
            let kompas = try await dmu(schools[1])
            #expect(Set(kompas["advisor"] ?? []) == Set([people["1 advisor"], mover].compactMap { $0 }))
            #expect(try await dmu(schools[2]).values.map(\.count).sorted() == [0, 0, 1, 1, 1])

            let boardView = try await client.send(.get, "/api/v1/organisations/\(boardID)", token: token)
            #expect((boardView["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted() == schools.sorted())
            let children = try await client.send(.get, "/api/v1/organisations?parent=\(boardID)", token: token)
            #expect((children["items"] as? [Any])?.count == 3)
            let mine = try await client.send(.get, "/api/v1/organisations?owner=me", token: token)
            #expect((mine["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [boardID])
        }
        // Reading the contact and the account views wrote audit rows for the mover.
        let reads = try await setting.env.db.withTenant(setting.tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM audit_log WHERE action = 'contact.read' AND actor_user_id = \(setting.manager.id)")
                .decode(Int.self).reduce(0, +)
        }
        #expect(reads >= 4)
    }

    @Test func aVisitReportsFollowUpShowsAsOverdueForItsAssigneeAfterItsDueDate() async throws {
        let setting = try await setUp()
        let colleague = try await setting.env.createUser(in: setting.tenant, role: .relations)
        let app = setting.env.application(setting.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: setting.manager.email, tenant: setting.tenant.slug.value).access
            let school = try id(
                try await client.send(
                    .post, "/api/v1/organisations", token: token,
                    json: ["name": "OBS Zandvoort", "type": "primary_school", "postcode": "2041 AB"]), "id")
            let report = try await client.send(
                .post, "/api/v1/interactions", token: token,
                json: [
                    "organisation_id": school, "kind": "visit_report", "subject": "Schoolbezoek", "report": "Wil meer leskisten.",
                    "staff_user_ids": [setting.manager.id.uuidString], "follow_up": "Offerte",
                    "follow_up_task": ["title": "Offerte leskisten sturen", "due_on": "2026-11-27"],
                ])
            #expect(report.status == .created, "\(report.text)")
            let taskID = try #require((report["follow_up_task_ids"] as? [String])?.first)

            func tasks(_ query: String, token: String) async throws -> [[String: Any]] {
                let response = try await client.send(.get, "/api/v1/tasks?\(query)", token: token)
                #expect(response.status == .ok, "\(response.text)")
                return response["items"] as? [[String: Any]] ?? []
            }
            #expect(try await tasks("assignee=me&due=overdue", token: token).isEmpty)
            #expect(try await tasks("assignee=me&due=week", token: token).compactMap { $0["id"] as? String } == [taskID])

            // Saturday: the task is overdue for the author, who was assigned it; not for a colleague.
            setting.clock.advance(by: 3 * 86_400)
            let freshToken = try await client.login(email: setting.manager.email, tenant: setting.tenant.slug.value).access
            let overdue = try await tasks("assignee=me&due=overdue", token: freshToken)
            #expect(overdue.compactMap { $0["id"] as? String } == [taskID])
            #expect(overdue.first?["overdue"] as? Bool == true)
            #expect(overdue.first?["interaction_id"] as? String != nil)
            let colleagueToken = try await client.login(email: colleague.email, tenant: setting.tenant.slug.value).access
            #expect(try await tasks("assignee=me&due=overdue", token: colleagueToken).isEmpty)

            // The reminder job marks it and leaves a trace; done, it is no longer overdue.
            let worker = JobWorker(
                queue: JobQueue(db: setting.env.db), handlers: RelationsJobs.handlers(db: setting.env.db, now: setting.clock.closure),
                name: "reminders-\(UUID())", now: setting.clock.closure, logger: Logger(label: "reminders"))
            try await setting.env.db.withPlatform { tx in
                try await tx.query("UPDATE jobs SET status = 'done' WHERE kind = \(RelationsJobs.taskReminders) AND status = 'queued'")
                try await RelationsJobs.scheduleReminders(at: setting.clock.now, in: tx)
            }
            #expect(try await worker.runOnce() >= 1)
            let task = try await client.send(.get, "/api/v1/tasks/\(taskID)", token: freshToken)
            #expect(task["overdue_marked_at"] as? String != nil, "\(task.text)")
            let done = try await client.send(.patch, "/api/v1/tasks/\(taskID)", token: freshToken, json: ["status": "done"])
            #expect(done["status"] as? String == "done")
            #expect(try await tasks("assignee=me&due=overdue", token: freshToken).isEmpty)
        }
        let reminders = try await setting.env.db.withTenant(setting.tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM audit_log WHERE action = 'task.reminder'").decode(Int.self).reduce(0, +)
        }
        #expect(reminders == 1)
    }

    @Test func theAccountViewAnswersInOneRequestWithEveryPart() async throws {
        let setting = try await setUp()
        let app = setting.env.application(setting.services)
        try await app.test(.router) { client in
            let token = try await client.login(email: setting.manager.email, tenant: setting.tenant.slug.value).access
            let school = try id(
                try await client.send(
                    .post, "/api/v1/organisations", token: token,
                    json: [
                        "name": "Het Mozaïek", "type": "primary_school", "postcode": "2102 AB",
                        "account_owner_user_id": setting.manager.id.uuidString,
                    ]), "id")
            let contact = try await client.send(
                .post, "/api/v1/contacts", token: token,
                json: [
                    "first_name": "Fatima", "last_name": "El Amrani", "email": "f.elamrani@mozaiek.example",
                    "roles": [["organisation_id": school, "dmu_role": "decision_maker", "job_title": "Directeur"]],
                ])
            let contactID = try id(contact, "contact", "id")
            _ = try await client.send(
                .post, "/api/v1/interactions", token: token,
                json: [
                    "organisation_id": school, "kind": "phone_call", "subject": "Kennismaking", "contact_ids": [contactID],
                    "follow_up_task": ["title": "Afspraak inplannen", "due_on": "2026-12-02"],
                ])
            _ = try await client.send(
                .post, "/api/v1/orders", token: token,
                json: [
                    "organisation_id": school, "product": "Kinderboekenweek-pakket", "period_start": "2026-10-01", "quantity": 3,
                    "amount_cents": 45_000,
                ])
            _ = try await client.send(
                .post, "/api/v1/orders", token: token,
                json: [
                    "organisation_id": school, "product": "Leskist 2025", "period_start": "2025-03-01", "amount_cents": 9_900,
                ])
            let agreement = try await client.send(
                .post, "/api/v1/agreements", token: token,
                json: [
                    "organisation_id": school, "kind": "performance", "title": "Bibliotheek op school", "period_start": "2026-08-01",
                    "period_end": "2027-07-31", "deliverables": "Leesconsulent 1 dag per week", "renewal_date": "2027-06-01",
                ])
            #expect(agreement.status == .created, "\(agreement.text)")
            _ = try await client.send(
                .post, "/api/v1/contacts/\(contactID)/consents", token: token, json: ["topic": "relations:newsletter-po", "status": "opted_in"])

            let view = try await client.send(.get, "/api/v1/organisations/\(school)", token: token)
            #expect(view.status == .ok)
            #expect(view.headers[.eTag] == "\"1\"")
            // `parent` is left out: this school has none.
            #expect(
                Set(view.json.keys) == [
                    "organisation", "members", "dmu", "open_tasks", "last_interactions", "orders_this_year",
                    "orders_this_year_amount_cents", "agreements",
                ])
            #expect(((view["dmu"] as? [String: Any])?["decision_maker"] as? [[String: Any]])?.first?["name"] as? String == "Fatima El Amrani")
            let openTasks = (view["open_tasks"] as? [[String: Any]])?.compactMap { $0["title"] as? String } ?? []
            #expect(openTasks == ["Afspraak inplannen", "Verlenging voorbereiden: Bibliotheek op school"])
            #expect((view["last_interactions"] as? [[String: Any]])?.first?["subject"] as? String == "Kennismaking")
            #expect((view["orders_this_year"] as? [[String: Any]])?.compactMap { $0["product"] as? String } == ["Kinderboekenweek-pakket"])
            #expect(view["orders_this_year_amount_cents"] as? Int == 45_000)
            #expect((view["agreements"] as? [[String: Any]])?.first?["renewal_task_id"] as? String != nil)

            // Marketing reads it too; the front desk may not.
            let marketing = try await setting.env.createUser(in: setting.tenant, role: .marketing)
            let marketingToken = try await client.login(email: marketing.email, tenant: setting.tenant.slug.value).access
            #expect(try await client.send(.get, "/api/v1/organisations/\(school)", token: marketingToken).status == .ok)
            #expect(try await client.send(.post, "/api/v1/orders", token: marketingToken, json: ["organisation_id": school]).status == .forbidden)
            let frontdesk = try await setting.env.createUser(in: setting.tenant, role: .frontdesk)
            let frontdeskToken = try await client.login(email: frontdesk.email, tenant: setting.tenant.slug.value).access
            #expect(try await client.send(.get, "/api/v1/organisations/\(school)", token: frontdeskToken).status == .forbidden)

            // Validation answers per field.
            let bad = try await client.send(
                .post, "/api/v1/orders", token: token, json: ["organisation_id": school, "product": "", "period_start": "31-02-2026"])
            #expect(bad.status.code == 422)
            #expect(
                Set((bad["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []) == ["product", "period_start", "amount_cents"])
        }
    }
}
