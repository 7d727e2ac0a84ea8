import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// Mijn taken against a real PostgreSQL: the order, the reminder badge, done in one click, and other people's and
/// other libraries' tasks out of reach.
@Suite("Task pages") struct TaskPagesTests {
    /// The day `offset` days from `now`, in the Netherlands.
    static func day(_ offset: Int, from now: Date) -> String {
        CalendarDate(now + Double(offset) * 86_400).description
    }

    static func task(_ title: String, due: String, for user: UUID, in tenant: Tenant, env: TestEnvironment, now: Date) async throws -> RelationTask {
        try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.create(
                try TaskDraft(title: title, dueOn: due, assigneeUserID: user, notes: "Over de leskisten").validate(), by: .system, now: now,
                in: tx)
        }
    }

    @Test func overdueFirstThenThisWeekTheBadgeCountsRemindersAndDoneTakesOneClick() async throws {
        let env = try await TestEnvironment.forSuite("WebTasks")
        let clock = TestClock(Date())
        let now = clock.now
        let tenant = try await env.createTenant("wt")
        let me = try await env.createUser(in: tenant, role: .relations)
        let colleague = try await env.createUser(in: tenant, role: .relations)
        let later = try await Self.task("Offerte sturen", due: Self.day(14, from: now), for: me.id, in: tenant, env: env, now: now)
        let today = try await Self.task("Terugbellen directeur", due: Self.day(0, from: now), for: me.id, in: tenant, env: env, now: now)
        let late = try await Self.task("Verslag schoolbezoek", due: Self.day(-2, from: now), for: me.id, in: tenant, env: env, now: now)
        _ = try await Self.task("Taak van een collega", due: Self.day(-1, from: now), for: colleague.id, in: tenant, env: env, now: now)
        // The daily job reminds of the overdue ones: mine and the colleague's.
        let reminded = try await env.db.withTenant(tenant) { tx in
            try await TaskReminders.run(notifier: AuditTrailReminderNotifier(), now: now, in: tx)
        }
        #expect(reminded.count == 2)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(me.email, password: TestEnvironment.password, library: tenant.slug.value)
            // The badge shows on every page, with words for a screen reader.
            let account = try await browser.get("/account")
            #expect(account.contains("<span aria-hidden=\"true\">1</span><span class=\"visually-hidden\">(1 herinnering)</span>"))
            let page = try await browser.get("/taken")
            #expect(page.status == .ok)
            #expect(page.contains("3 open taken, waarvan 1 te laat."))
            let order = [
                "Te laat", "Verslag schoolbezoek", "2 dagen te laat", "Deze week", "Terugbellen directeur", "vandaag", "Later", "Offerte sturen",
            ]
            let positions = order.map { page.html.range(of: $0)?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil }, "\(order)")
            #expect(zip(positions, positions.dropFirst()).allSatisfy { ($0.0 ?? page.html.endIndex) < ($0.1 ?? page.html.startIndex) })
            #expect(page.contains("herinnerd"))
            #expect(!page.contains("Taak van een collega"))
            // Done in one click: the task leaves the list, and so does the badge.
            let done = try await browser.post("/taken/\(late.id.uuidString.lowercased())/klaar", [])
            #expect(done.status == .seeOther)
            #expect(done.location == "/taken?gedaan=1")
            let after = try await browser.get("/taken?gedaan=1")
            #expect(after.contains("De taak is afgerond."))
            #expect(!after.contains("Verslag schoolbezoek"))
            #expect(!after.contains("herinnering)"))
            #expect(after.contains("2 open taken."))
            _ = (today, later)
        }
        let (status, audited) = try await env.db.withTenant(tenant) { tx in
            let status = try await RelationTasks.find(id: late.id, now: now, in: tx).status
            let audited = try await tx.query(
                "SELECT count(*)::int FROM audit_log WHERE action = 'task.updated' AND subject_id = \(late.id.uuidString.lowercased())"
            ).decode(Int.self).first { _ in true }
            return (status, audited)
        }
        #expect(status == .done)
        #expect(audited == 1)
    }

    @Test func anotherLibrarysTaskAnswersTheNotFoundPageAndAReaderHasNoDoneButton() async throws {
        let env = try await TestEnvironment.forSuite("WebTasks")
        let clock = TestClock(Date())
        let libraryA = try await env.createTenant("wta")
        let libraryB = try await env.createTenant("wtb")
        let ownerA = try await env.createUser(in: libraryA, role: .relations)
        let taskA = try await Self.task("Bezoek gemeente", due: Self.day(1, from: clock.now), for: ownerA.id, in: libraryA, env: env, now: clock.now)
        let relationsB = try await env.createUser(in: libraryB, role: .relations)
        let analystA = try await env.createUser(in: libraryA, role: .analyst)
        _ = try await Self.task("Cijfers nalopen", due: Self.day(1, from: clock.now), for: analystA.id, in: libraryA, env: env, now: clock.now)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(relationsB.email, password: TestEnvironment.password, library: libraryB.slug.value)
            let list = try await browser.get("/taken")
            #expect(list.contains("U hebt geen open taken"))
            #expect(!list.contains("Bezoek gemeente"))
            let posted = try await browser.post("/taken/\(taskA.id.uuidString.lowercased())/klaar", [])
            #expect(posted.status == .notFound)
            #expect(posted.contains("Deze pagina bestaat niet"))
            #expect(try await browser.post("/taken/geen-id/klaar", []).status == .notFound)
        }
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(analystA.email, password: TestEnvironment.password, library: libraryA.slug.value)
            let list = try await browser.get("/taken")
            #expect(list.contains("Cijfers nalopen"))
            #expect(!list.contains(">Klaar<"))
            #expect(try await browser.post("/taken/\(taskA.id.uuidString.lowercased())/klaar", []).status == .forbidden)
        }
        let status = try await env.db.withTenant(libraryA) { tx in try await RelationTasks.find(id: taskA.id, now: clock.now, in: tx).status }
        #expect(status == .open)
    }
}
