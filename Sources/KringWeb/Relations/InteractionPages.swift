import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer

/// Contact vastleggen: a visit report, meeting or call with an organisation, the contacts who were there and a
/// follow-up task for the person recording it, in one form (one transaction).
struct InteractionPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("relaties/:id/contact") { request, context in try await form(request, context) }
        router.post("relaties/:id/contact") { request, context in try await save(request, context) }
    }

    static let kinds: [(Interaction.Kind, String)] = [
        (.visitReport, "Bezoekverslag"), (.meeting, "Overleg"), (.phoneCall, "Telefoongesprek"), (.email, "E-mail"), (.proposal, "Voorstel"),
        (.agreement, "Overeenkomst"),
    ]

    struct FormModel {
        let chrome: Chrome
        let id: String
        let name: String
        let kinds: [Choice]
        let date: String
        let subject: String
        let report: String
        let contacts: [Choice]
        let noContacts: Bool
        let taskTitle: String
        let taskDue: String
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let dateError: String?
        let subjectError: String?
        let followUpError: String?
    }

    /// What was typed, or the defaults: a visit report today, a follow-up a week from today.
    struct Typed {
        var kind = Interaction.Kind.visitReport.rawValue
        var date: String
        var subject = ""
        var report = ""
        var contacts: Set<String> = []
        var taskTitle = ""
        var taskDue: String
    }

    private func organisationID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.organisation) }
        return id
    }

    /// The organisation's name and its people with a role today, for the checkboxes (without the rest of the account view).
    private func people(_ id: UUID, _ context: KringRequestContext) async throws -> (String, [(UUID, String)]) {
        try await services.inTenant(.relationsWrite, context, record: id, "organisation", notFound: RelationsError.notFound(.organisation)) {
            tx, actor, now in
            let organisation = try await Organisations.find(id: id, in: tx)
            let dmu = try await Organisations.decisionMakingUnit(id: id, via: "interaction_form", by: actor, now: now, in: tx)
            var seen: Set<UUID> = []
            var people: [(UUID, String)] = []
            for role in DMURole.allCases {
                for member in dmu[role] where seen.insert(member.contactID).inserted {
                    people.append((member.contactID, member.jobTitle.map { "\(member.name), \($0)" } ?? member.name))
                }
            }
            return (organisation.name, people)
        }
    }

    func form(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        let (name, people) = try await people(id, context)
        let today = CalendarDate(services.now())
        let typed = Typed(date: today.description, taskDue: today.adding(days: 7).description)
        return try render(staff, id: id, name: name, people: people, typed: typed, errors: FormErrors())
    }

    private func render(_ staff: Staff, id: UUID, name: String, people: [(UUID, String)], typed: Typed, errors: FormErrors) throws -> Response {
        let model = FormModel(
            chrome: staff.chrome("Contact vastleggen: \(name)", area: "/relaties"), id: id.lower, name: name,
            kinds: Self.kinds.map { Choice(value: $0.0.rawValue, label: $0.1, selected: $0.0.rawValue == typed.kind) }, date: typed.date,
            subject: typed.subject, report: typed.report,
            contacts: people.map { Choice(value: $0.0.lower, label: $0.1, selected: typed.contacts.contains($0.0.lower)) },
            noContacts: people.isEmpty,
            taskTitle: typed.taskTitle, taskDue: typed.taskDue, errors: errors.items, hasErrors: errors.any, dateError: errors.message("date"),
            subjectError: errors.message("subject"), followUpError: errors.message("follow-up"))
        return WebResponse.html(try templates.render("relations/contact", model), status: errors.any ? .unprocessableContent : .ok)
    }

    func save(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try organisationID(context)
        guard let me = staff.principal.userID else { throw Problem.unauthorized() }
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        func text(_ name: String) -> String { (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let typed = Typed(
            kind: text("kind"), date: text("date"), subject: text("subject"), report: text("report"), contacts: Set(form.values("contact")),
            taskTitle: text("task_title"), taskDue: text("task_due"))
        let now = services.now()
        let today = CalendarDate(now)
        // The form's own checks, in Dutch; the service checks the same again.
        var errors = FormErrors()
        let kind = Interaction.Kind(rawValue: typed.kind)
        if kind == nil { errors.add("kind", "Kies een soort contact.") }
        let day = CalendarDate(typed.date)
        if let day, day > today { errors.add("date", "De datum ligt in de toekomst; plan het als taak.") }
        if day == nil { errors.add("date", "Vul een datum in, bijvoorbeeld \(Dutch.date(today)).") }
        if typed.subject.isEmpty { errors.add("subject", "Vul een onderwerp in.") }
        if typed.subject.count > 200 { errors.add("subject", "Gebruik voor het onderwerp hoogstens 200 tekens.") }
        let due = CalendarDate(typed.taskDue)
        if !typed.taskTitle.isEmpty && due == nil { errors.add("follow-up", "Geef de vervolgactie een datum.") }
        if typed.taskTitle.count > 200 { errors.add("follow-up", "Gebruik voor de taak hoogstens 200 tekens.") }
        let contactIDs = typed.contacts.compactMap(UUID.init(uuidString:))
        if contactIDs.count != typed.contacts.count { errors.add("contacts", "Kies de aanwezigen uit de lijst.") }
        if errors.any {
            let (name, people) = try await people(id, context)
            return try render(staff, id: id, name: name, people: people, typed: typed, errors: errors)
        }
        // Today's contact at this moment; an earlier day's at noon (the form asks for the day only).
        let occurredAt =
            day == today
            ? now
            : Dutch.calendar.date(from: DateComponents(year: day?.year, month: day?.month, day: day?.day, hour: 12)) ?? now
        let draft = InteractionDraft(
            organisationID: id, kind: kind?.rawValue, subject: typed.subject, occurredAt: occurredAt,
            report: typed.report.isEmpty ? nil : typed.report, followUp: typed.taskTitle.isEmpty ? nil : typed.taskTitle, staffUserIDs: [me],
            contactIDs: contactIDs,
            followUpTask: typed.taskTitle.isEmpty
                ? nil : TaskDraft(title: typed.taskTitle, dueOn: due?.description, assigneeUserID: me, organisationID: id))
        do {
            _ = try await services.inTenant(.relationsWrite, context, record: id, "organisation", notFound: RelationsError.notFound(.organisation)) {
                tx, actor, now in
                try await Interactions.create(try draft.validate(now: now), by: actor, now: now, in: tx)
            }
        } catch RelationsError.invalid(let problems) {
            // A contact of another organisation or library, or a check the form does not make itself.
            var errors = FormErrors()
            for problem in problems {
                errors.add(
                    problem.field.hasPrefix("contact") ? "contacts" : problem.field.hasPrefix("follow_up") ? "follow-up" : "subject",
                    problem.field.hasPrefix("contact") ? "Kies de aanwezigen uit de lijst." : "Dit kon niet worden vastgelegd: \(problem.message)")
            }
            let (name, people) = try await people(id, context)
            return try render(staff, id: id, name: name, people: people, typed: typed, errors: errors)
        }
        return WebResponse.redirect("/relaties/\(id.lower)?gedaan=\(typed.taskTitle.isEmpty ? "contact" : "contact-taak")")
    }
}
