import Foundation
import KringB2B
import KringCore
import KringDatabase
import KringTestSupport
import Synchronization
import Testing

/// The "must show" scenarios, at the level of the B2B module.
@Suite struct RelationScenarioTests {
    /// A school board with three schools, each with a decision maker, an advisor and a gatekeeper; the advisor of the
    /// first school moves to the second and keeps the history of both roles.
    @Test func schoolBoardWithThreeSchoolsAndAContactWhoMoves() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        try await env.db.withTenant(tenant) { tx in
            _ = try await OrganisationTypes.create(code: "school_board", name: "Schoolbestuur", by: B2B.staff, now: B2B.now, in: tx)
        }
        let board = try await B2B.organisation("Stichting Spaarnesant", type: "school_board", postcode: "2011 AA", in: tenant, env)
        var schools: [Organisation] = []
        var advisors: [UUID] = []
        for (index, name) in ["De Ster", "Het Kompas", "De Regenboog"].enumerated() {
            let school = try await B2B.organisation(name, parent: board.id, postcode: "201\(index + 2) AB", in: tenant, env)
            schools.append(school)
            _ = try await B2B.contact("Directeur\(index)", at: school.id, as: .decisionMaker, from: "2020-08-01", in: tenant, env)
            advisors.append(try await B2B.contact("Leesco\(index)", at: school.id, as: .advisor, from: "2021-08-01", in: tenant, env).contact.id)
            _ = try await B2B.contact("Balie\(index)", at: school.id, as: .gatekeeper, from: "2022-08-01", in: tenant, env)
        }

        // The reading coordinator of De Ster moves to Het Kompas on 1 December.
        let mover = advisors[0]
        let moved = try await env.db.withTenant(tenant) { tx in
            let old = try await Contacts.roles(contactID: mover, in: tx)
            #expect(old.count == 1)
            _ = try await Contacts.changeRole(
                id: old[0].id, contactID: mover, ContactRoleChange(activeTo: "2026-11-30"), by: B2B.staff, now: B2B.now, in: tx)
            let draft = try ContactRoleDraft(
                organisationID: schools[1].id, dmuRole: "decision_maker", jobTitle: "Adjunct-directeur",
                activeFrom: "2026-12-01"
            ).validate(today: B2B.today)
            _ = try await Contacts.addRole(draft, contactID: mover, by: B2B.staff, now: B2B.now, in: tx)
            return try await Contacts.read(id: mover, by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(moved.roles.map(\.organisationName) == ["Het Kompas", "De Ster"])
        #expect(moved.roles.map(\.dmuRole) == [.decisionMaker, .advisor])
        #expect(moved.roles[1].activeTo == CalendarDate(year: 2026, month: 11, day: 30))
        #expect(moved.roles[0].activeFrom == CalendarDate(year: 2026, month: 12, day: 1))

        func view(_ id: UUID, at time: Date) async throws -> AccountView {
            try await env.db.withTenant(tenant) { tx in try await Organisations.accountView(id: id, by: B2B.staff, now: time, in: tx) }
        }
        // Before the move the old role holds; after it, the new one.
        let before = try await view(schools[0].id, at: B2B.now)
        #expect(before.dmu.advisor.map(\.contactID) == [mover])
        #expect(before.dmu.decisionMaker.count == 1)
        #expect(before.dmu.gatekeeper.count == 1)
        #expect(before.parent?.id == board.id)
        let december = B2B.now.addingTimeInterval(10 * B2B.day)
        let oldSchool = try await view(schools[0].id, at: december)
        #expect(oldSchool.dmu.advisor.isEmpty)
        #expect(oldSchool.dmu.decisionMaker.count == 1)
        let newSchool = try await view(schools[1].id, at: december)
        #expect(Set(newSchool.dmu.decisionMaker.map(\.contactID)).contains(mover))
        #expect(newSchool.dmu.decisionMaker.count == 2)
        #expect(newSchool.dmu.advisor.count == 1)
        let boardView = try await view(board.id, at: december)
        #expect(boardView.members.map(\.name) == ["De Regenboog", "De Ster", "Het Kompas"])
        #expect(boardView.dmu.isEmpty)
        // Contacts of one school: three people today.
        let people = try await env.db.withTenant(tenant) { tx in
            try await Contacts.search(Contacts.Search(organisationID: schools[2].id), by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(people.count == 3)
        // Every person shown in an account view is audited as read.
        #expect(try await B2B.auditCount("contact.read", subject: mover, in: tenant, env) == 3)
        #expect(try await B2B.auditCount("contact.search", in: tenant, env) == 1)
    }

    /// A notifier that remembers whom it told, for the reminder job's test.
    final class RecordingNotifier: TaskReminderNotifier {
        let told = Mutex<[UUID]>([])
        func taskBecameOverdue(_ task: RelationTask, now: Date, in tx: TenantTransaction) async throws {
            told.withLock { $0.append(task.id) }
        }
    }

    @Test func aVisitReportsFollowUpTaskFallsOverdueForItsAssignee() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        let school = try await B2B.organisation("OBS Zandvoort", postcode: "2041 AB", in: tenant, env)
        let principal = try await B2B.contact("Smit", at: school.id, as: .decisionMaker, in: tenant, env)
        let accountManager = UUID()
        let draft = InteractionDraft(
            organisationID: school.id, kind: "visit_report", subject: "Bezoek over de Bibliotheek op school",
            occurredAt: B2B.now.addingTimeInterval(-3600), report: "Directie wil leesconsulent twee dagen per week.",
            followUp: "Offerte sturen", staffUserIDs: [accountManager], contactIDs: [principal.contact.id],
            followUpTask: TaskDraft(title: "Offerte dBos sturen", dueOn: "2026-11-27"))
        let valid = try draft.validate(now: B2B.now)
        let actor = AuditActor(userID: accountManager, apiKeyID: nil)
        let interaction = try await env.db.withTenant(tenant) { tx in try await Interactions.create(valid, by: actor, now: B2B.now, in: tx) }
        #expect(interaction.contactIDs == [principal.contact.id])
        #expect(interaction.followUpTaskIDs.count == 1)
        let taskID = try #require(interaction.followUpTaskIDs.first)

        func overdue(at time: Date) async throws -> [RelationTask] {
            try await env.db.withTenant(tenant) { tx in
                try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: accountManager, due: .overdue), now: time, in: tx)
            }
        }
        // Due Friday: not overdue on Wednesday nor on Friday itself; this week's.
        #expect(try await overdue(at: B2B.now).isEmpty)
        #expect(try await overdue(at: B2B.now.addingTimeInterval(2 * B2B.day)).isEmpty)
        let week = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: accountManager, due: .week), now: B2B.now, in: tx)
        }
        #expect(week.map(\.id) == [taskID])
        let saturday = B2B.now.addingTimeInterval(3 * B2B.day)
        let late = try await overdue(at: saturday)
        #expect(late.map(\.id) == [taskID])
        #expect(late.first?.overdue == true)
        #expect(late.first?.interactionID == interaction.id)
        #expect(late.first?.organisationID == school.id)
        // Someone else's overdue list stays empty.
        let others = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: UUID(), due: .overdue), now: saturday, in: tx)
        }
        #expect(others.isEmpty)

        // The reminder job marks it once and tells the notifier once.
        let notifier = RecordingNotifier()
        let friday = try await env.db.withTenant(tenant) { tx in
            try await TaskReminders.run(notifier: notifier, now: B2B.now.addingTimeInterval(2 * B2B.day), in: tx)
        }
        #expect(friday.isEmpty)
        let marked = try await env.db.withTenant(tenant) { tx in try await TaskReminders.run(notifier: notifier, now: saturday, in: tx) }
        #expect(marked.map(\.id) == [taskID])
        let again = try await env.db.withTenant(tenant) { tx in try await TaskReminders.run(notifier: notifier, now: saturday + B2B.day, in: tx) }
        #expect(again.isEmpty)
        #expect(notifier.told.withLock { $0 } == [taskID])
        // Done tasks are no longer overdue.
        _ = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.change(id: taskID, TaskChange(status: "done"), by: actor, now: saturday, in: tx)
        }
        #expect(try await overdue(at: saturday).isEmpty)
    }

    @Test func theDefaultNotifierWritesTheReminderToTheAuditLog() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        let task = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.create(
                try TaskDraft(title: "Nieuwjaarskaart", dueOn: "2026-11-20", assigneeUserID: B2B.staff.userID).validate(),
                by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(task.overdue)
        try await env.db.withTenant(tenant) { tx in try await TaskReminders.run(notifier: AuditTrailReminderNotifier(), now: B2B.now, in: tx) }
        #expect(try await B2B.auditCount("task.reminder", subject: task.id, in: tenant, env) == 1)
        let reread = try await env.db.withTenant(tenant) { tx in try await RelationTasks.find(id: task.id, now: B2B.now, in: tx) }
        #expect(reread.overdueMarkedAt == B2B.now)
    }

    @Test func dueThisWeekRunsFromTodayToSunday() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        let me = UUID()
        let ids = try await env.db.withTenant(tenant) { tx in
            var ids: [String: UUID] = [:]
            for day in ["2026-11-24", "2026-11-25", "2026-11-29", "2026-11-30"] {
                ids[day] = try await RelationTasks.create(
                    try TaskDraft(title: "Taak \(day)", dueOn: day, assigneeUserID: me).validate(),
                    by: B2B.staff, now: B2B.now, in: tx
                ).id
            }
            return ids
        }
        let week = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: me, due: .week), now: B2B.now, in: tx)
        }
        #expect(week.map(\.id) == [ids["2026-11-25"], ids["2026-11-29"]].compactMap { $0 })
        let overdue = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: me, due: .overdue), now: B2B.now, in: tx)
        }
        #expect(overdue.map(\.id) == [ids["2026-11-24"]].compactMap { $0 })
        // Keyset pages in due order.
        let first = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: me, limit: 2), now: B2B.now, in: tx)
        }
        let rest = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.list(
                RelationTasks.Filter(assigneeUserID: me, after: first.last.map { ($0.dueOn, $0.id) }, limit: 2), now: B2B.now, in: tx)
        }
        #expect((first + rest).map(\.dueOn.description) == ["2026-11-24", "2026-11-25", "2026-11-29", "2026-11-30"])
    }

    @Test func anAgreementsRenewalDateKeepsOneReminderForTheAccountOwner() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        let owner = UUID()
        let municipality = try await B2B.organisation(
            "Gemeente Bloemendaal", type: "municipality", postcode: "2061 AA", owner: owner, in: tenant, env)
        var draft = AgreementDraft(
            organisationID: municipality.id, kind: "subsidy", title: "Subsidie bibliotheekwerk 2027", periodStart: "2027-01-01",
            periodEnd: "2027-12-31", amountCents: 185_000_000, deliverables: "Bibliotheek op school op 12 scholen",
            renewalDate: "2027-09-01")
        let agreement = try await env.db.withTenant(tenant) { tx in
            try await Agreements.create(try draft.validate(), by: B2B.staff, now: B2B.now, in: tx)
        }
        let taskID = try #require(agreement.renewalTaskID)
        func task() async throws -> RelationTask {
            try await env.db.withTenant(tenant) { tx in try await RelationTasks.find(id: taskID, now: B2B.now, in: tx) }
        }
        #expect(try await task().dueOn == CalendarDate(year: 2027, month: 8, day: 2))
        #expect(try await task().assigneeUserID == owner)
        #expect(try await task().kind == .renewal)

        // Done, then the renewal date moves: the same task is reopened on the new day.
        _ = try await env.db.withTenant(tenant) { tx in
            try await RelationTasks.change(id: taskID, TaskChange(status: "done"), by: B2B.staff, now: B2B.now, in: tx)
        }
        draft.renewalDate = "2027-10-01"
        let moved = try await env.db.withTenant(tenant) { tx in
            try await Agreements.replace(id: agreement.id, with: try draft.validate(), by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(moved.renewalTaskID == taskID)
        #expect(try await task().dueOn == CalendarDate(year: 2027, month: 9, day: 1))
        #expect(try await task().status == .open)
        // No renewal date: the reminder is cancelled.
        draft.renewalDate = nil
        _ = try await env.db.withTenant(tenant) { tx in
            try await Agreements.replace(id: agreement.id, with: try draft.validate(), by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(try await task().status == .cancelled)
    }

    @Test func theAccountViewHasOpenTasksLastInteractionsOrdersThisYearAndAgreements() async throws {
        let (env, tenant) = try await B2B.setUp("RelationScenarios")
        let school = try await B2B.organisation("Het Mozaïek", postcode: "2102 AB", in: tenant, env)
        try await env.db.withTenant(tenant) { tx in
            for (index, start) in ["2025-09-01", "2026-02-01", "2026-09-01"].enumerated() {
                _ = try await Orders.create(
                    try OrderDraft(
                        organisationID: school.id, product: "Leskist \(index)", periodStart: start,
                        quantity: 2, amountCents: 10_000
                    ).validate(), by: B2B.staff, now: B2B.now, in: tx)
            }
            // A subscription that started last year and runs into this one counts for this year.
            _ = try await Orders.create(
                try OrderDraft(
                    organisationID: school.id, kind: "subscription", product: "Schoolabonnement", periodStart: "2025-08-01",
                    periodEnd: "2026-07-31", amountCents: 50_000
                ).validate(), by: B2B.staff, now: B2B.now, in: tx)
            _ = try await Orders.create(
                try OrderDraft(
                    organisationID: school.id, product: "Geannuleerd", periodStart: "2026-03-01", amountCents: 99_999,
                    status: "cancelled"
                ).validate(), by: B2B.staff, now: B2B.now, in: tx)
            for index in 0..<12 {
                _ = try await Interactions.create(
                    try InteractionDraft(
                        organisationID: school.id, kind: "phone_call", subject: "Gesprek \(index)",
                        occurredAt: B2B.now.addingTimeInterval(Double(index - 20) * B2B.day)
                    ).validate(now: B2B.now),
                    by: B2B.staff, now: B2B.now, in: tx)
            }
            _ = try await RelationTasks.create(
                try TaskDraft(title: "Open", dueOn: "2026-12-01", organisationID: school.id).validate(), by: B2B.staff, now: B2B.now, in: tx)
            let done = try await RelationTasks.create(
                try TaskDraft(title: "Klaar", dueOn: "2026-11-01", organisationID: school.id).validate(),
                by: B2B.staff, now: B2B.now, in: tx)
            _ = try await RelationTasks.change(id: done.id, TaskChange(status: "done"), by: B2B.staff, now: B2B.now, in: tx)
            _ = try await Agreements.create(
                try AgreementDraft(
                    organisationID: school.id, kind: "performance", title: "Prestatieafspraak",
                    periodStart: "2026-01-01"
                ).validate(), by: B2B.staff, now: B2B.now, in: tx)
        }
        let view = try await env.db.withTenant(tenant) { tx in try await Organisations.accountView(id: school.id, by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(view.openTasks.map(\.title) == ["Open"])
        #expect(view.lastInteractions.count == 10)
        #expect(view.lastInteractions.first?.subject == "Gesprek 11")
        #expect(Set(view.ordersThisYear.map(\.product)) == ["Leskist 1", "Leskist 2", "Schoolabonnement", "Geannuleerd"])
        #expect(view.ordersThisYearAmountCents == 10_000 + 10_000 + 50_000)
        #expect(view.agreements.map(\.title) == ["Prestatieafspraak"])
        #expect(try await B2B.auditCount("organisation.account_view", subject: school.id, in: tenant, env) == 1)
    }
}
