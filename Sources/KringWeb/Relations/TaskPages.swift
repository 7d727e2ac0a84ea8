import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer

/// Mijn taken: the signed-in person's open tasks, overdue first, then the rest of this week, then later; done in
/// one click. The reminders the daily job gave (tasks it found overdue) show as a badge in the navigation.
struct TaskPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("taken") { request, context in try await list(request, context) }
        router.post("taken/:id/klaar") { request, context in try await finish(request, context) }
    }

    struct Row: Sendable {
        let title: String
        let renewal: Bool
        let due: String
        let late: Bool
        let organisation: String?
        let notes: String?
        let reminded: Bool
        let canFinish: Bool
        let doneAction: String
    }

    struct Group: Sendable {
        let key: String
        let heading: String
        let count: Int
        let rows: [Row]
    }

    struct ListModel {
        let chrome: Chrome
        let groups: [Group]
        let empty: Bool
        let summary: String
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        guard let me = staff.principal.userID else { throw Problem.unauthorized() }
        let (tasks, organisations) = try await services.inTenant(.relationsRead, context) { tx, _, now in
            // Every open task of mine in due order; "overdue" and "this week" are days in the Netherlands.
            let tasks = try await RelationTasks.list(.init(assigneeUserID: me, status: .open, limit: 500), now: now, in: tx)
            let ids = Array(Set(tasks.compactMap(\.organisationID)))
            var names: [UUID: String] = [:]
            if !ids.isEmpty {
                for try await (id, name) in try await tx.query("SELECT id, name FROM organisations WHERE id = ANY(\(ids))").decode(
                    (UUID, String).self)
                {
                    names[id] = name
                }
            }
            return (tasks, names)
        }
        let today = CalendarDate(services.now())
        let weekEnd = today.adding(days: 7 - Self.isoWeekday(today))
        let canFinish = staff.may(.relationsWrite)
        func row(_ task: RelationTask) -> Row {
            Row(
                title: task.title, renewal: task.kind == .renewal, due: Self.due(task.dueOn, today: today), late: task.overdue,
                organisation: task.organisationID.flatMap { organisations[$0] }, notes: task.notes, reminded: task.overdueMarkedAt != nil,
                canFinish: canFinish, doneAction: "/taken/\(task.id.lower)/klaar")
        }
        let overdue = tasks.filter { $0.dueOn < today }
        let week = tasks.filter { $0.dueOn >= today && $0.dueOn <= weekEnd }
        let later = tasks.filter { $0.dueOn > weekEnd }
        let groups = [
            Group(key: "te-laat", heading: "Te laat", count: overdue.count, rows: overdue.map(row)),
            Group(key: "deze-week", heading: "Deze week", count: week.count, rows: week.map(row)),
            Group(key: "later", heading: "Later", count: later.count, rows: later.map(row)),
        ].filter { $0.count > 0 }
        var summary = tasks.count == 1 ? "1 open taak" : "\(Dutch.number(tasks.count)) open taken"
        if !overdue.isEmpty { summary += ", waarvan \(Dutch.number(overdue.count)) te laat" }
        summary += "."
        let notice = request.uri.queryParameters["gedaan"] != nil ? "De taak is afgerond." : nil
        let model = ListModel(
            chrome: staff.chrome("Mijn taken", area: "/taken", notice: notice), groups: groups, empty: tasks.isEmpty, summary: summary)
        return WebResponse.html(try templates.render("tasks/list", model))
    }

    func finish(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        _ = try Staff(context)
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.task) }
        _ = try await services.inTenant(.relationsWrite, context, record: id, "task", notFound: RelationsError.notFound(.task)) { tx, actor, now in
            try await RelationTasks.change(id: id, TaskChange(status: "done"), by: actor, now: now, in: tx)
        }
        return WebResponse.redirect("/taken?gedaan=1")
    }

    /// "3 dagen te laat", "vandaag", "morgen", "vrijdag" (this week), else the date.
    static func due(_ day: CalendarDate, today: CalendarDate) -> String {
        let days = daysBetween(today, day)
        switch days {
        case ..<(-1): return "\(-days) dagen te laat"
        case -1: return "1 dag te laat"
        case 0: return "vandaag"
        case 1: return "morgen"
        case 2...6 where day <= today.adding(days: 7 - isoWeekday(today)):
            return Dutch.weekdays[(isoWeekday(day) % 7)]
        default: return Dutch.date(day)
        }
    }

    static func daysBetween(_ from: CalendarDate, _ to: CalendarDate) -> Int {
        to.daysSince1970 - from.daysSince1970
    }

    /// 1 for Monday to 7 for Sunday (1 January 1970 was a Thursday).
    static func isoWeekday(_ day: CalendarDate) -> Int {
        ((day.daysSince1970 % 7 + 7) % 7 + 3) % 7 + 1
    }
}
