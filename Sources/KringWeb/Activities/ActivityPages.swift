import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// Activiteiten: the week's programme per branch, an activity with its registrations and waiting list, the check-in
/// at the door (one tap per person), evaluations, and creating and changing activities (marketing).
struct ActivityPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("activiteiten") { request, context in try await week(request, context) }
        router.get("activiteiten/nieuw") { _, context in try await form(context, id: nil) }
        router.post("activiteiten/nieuw") { request, context in try await save(request, context, id: nil) }
        router.get("activiteiten/:id") { request, context in try await show(request, context, door: false) }
        router.get("activiteiten/:id/deur") { request, context in try await show(request, context, door: true) }
        router.get("activiteiten/:id/bewerken") { _, context in try await form(context, id: try activityID(context)) }
        router.post("activiteiten/:id/bewerken") { request, context in try await save(request, context, id: try activityID(context)) }
        router.post("activiteiten/:id/aanmelden") { request, context in try await register(request, context) }
        router.post("activiteiten/:id/aanmeldingen/:registration") { request, context in try await setStatus(request, context) }
    }

    private func activityID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw ActivityError.notFound }
        return id
    }

    /// Runs `body` for one activity; another library's id answers 404 and is audited.
    private func forActivity<T: Sendable>(
        _ permission: Permission, _ context: KringRequestContext, _ id: UUID,
        _ body: (TenantTransaction, AuditActor, Date) async throws -> T
    ) async throws -> T {
        try await services.inTenant(permission, context, record: id, "activity", notFound: ActivityError.notFound, body)
    }

    // MARK: The week

    struct Day: Sendable {
        let label: String
        let items: [Item]
    }

    struct Item: Sendable {
        let href: String
        let time: String
        let title: String
        let branch: String
        let places: String
        let full: Bool
    }

    struct WeekModel {
        let chrome: Chrome
        let heading: String
        let days: [Day]
        let empty: Bool
        let previous: String
        let next: String
        let branches: [Choice]
        let canCreate: Bool
        let week: String
    }

    static func monday(of date: Date) -> Date {
        let calendar = Dutch.calendar
        let start = calendar.startOfDay(for: date)
        let weekday = calendar.component(.weekday, from: start)  // 1 = Sunday
        return calendar.date(byAdding: .day, value: -((weekday + 5) % 7), to: start) ?? start
    }

    static func capitalised(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    static func isoDay(_ date: Date) -> String {
        let parts = Dutch.calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    static func parseDay(_ text: String?) -> Date? {
        guard let text, let day = CalendarDate(text) else { return nil }
        return Dutch.calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day))
    }

    /// "Nog 3 plaatsen vrij", "Vol, 2 op de wachtlijst", "Vrije inloop".
    static func places(_ activity: Activity, waiting: Int) -> (String, Bool) {
        guard let capacity = activity.capacity else { return ("vrije inloop, \(activity.placesTaken) aangemeld", false) }
        let free = capacity - activity.placesTaken
        if free > 0 { return ("nog \(free) \(free == 1 ? "plaats" : "plaatsen") vrij van \(capacity)", false) }
        return (waiting > 0 ? "vol, \(waiting) op de wachtlijst" : "vol", true)
    }

    func week(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let query = request.uri.queryParameters
        let start = Self.monday(of: Self.parseDay(query["week"].map(String.init)) ?? services.now())
        let end = Dutch.calendar.date(byAdding: .day, value: 7, to: start) ?? start
        let branchID = query["vestiging"].flatMap { UUID(uuidString: String($0)) }
        let (activities, branches, waiting) = try await services.inTenant(.activitiesRead, context) { tx, _, _ in
            let activities = try await Activities.between(start, end, branchID: branchID, in: tx)
            var waiting: [UUID: Int] = [:]
            let ids = activities.map(\.id)
            for try await (id, count) in try await tx.query(
                """
                SELECT activity_id, count(*)::int FROM registrations WHERE status = 'waitlisted' AND activity_id = ANY(\(ids)) GROUP BY activity_id
                """
            ).decode((UUID, Int).self) { waiting[id] = count }
            return (activities, try await Branches.list(in: tx), waiting)
        }
        let branchNames = Dictionary(uniqueKeysWithValues: branches.map { ($0.id, $0.name) })
        var days: [Day] = []
        for offset in 0..<7 {
            guard let day = Dutch.calendar.date(byAdding: .day, value: offset, to: start),
                let next = Dutch.calendar.date(byAdding: .day, value: 1, to: day)
            else { continue }
            let items = activities.filter { $0.startsAt >= day && $0.startsAt < next }.map { activity -> Item in
                let (places, full) = Self.places(activity, waiting: waiting[activity.id] ?? 0)
                return Item(
                    href: "/activiteiten/\(activity.id.lower)", time: "\(Dutch.time(activity.startsAt))–\(Dutch.time(activity.endsAt))",
                    title: activity.title, branch: activity.branchID.flatMap { branchNames[$0] } ?? "", places: places, full: full)
            }
            if !items.isEmpty {
                let weekday = Dutch.weekdays[Dutch.calendar.component(.weekday, from: day) - 1]
                days.append(Day(label: weekday.prefix(1).uppercased() + weekday.dropFirst() + " \(Dutch.date(day))", items: items))
            }
        }
        let week = Dutch.calendar.component(.weekOfYear, from: start)  // ISO: the calendar is ISO 8601
        let last = Dutch.calendar.date(byAdding: .day, value: 6, to: start) ?? start
        let branchQuery = branchID.map { "&vestiging=\($0.lower)" } ?? ""
        let model = WeekModel(
            chrome: staff.chrome("Activiteiten", area: "/activiteiten"),
            heading: "Week \(week): \(Dutch.date(start)) t/m \(Dutch.date(last))", days: days, empty: days.isEmpty,
            previous: "/activiteiten?week=\(Self.isoDay(Dutch.calendar.date(byAdding: .day, value: -7, to: start) ?? start))\(branchQuery)",
            next: "/activiteiten?week=\(Self.isoDay(end))\(branchQuery)",
            branches: [Choice(value: "", label: "Alle vestigingen", selected: branchID == nil)]
                + branches.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id == branchID) },
            canCreate: staff.may(.activitiesManage), week: Self.isoDay(start))
        return WebResponse.html(try templates.render("activities/week", model))
    }

    // MARK: One activity, and the door

    struct Person: Sendable {
        let registrationID: String
        let name: String
        let memberNumber: String?
        let status: String
        let isBooked: Bool
        let isAttended: Bool
        let isNoShow: Bool
        let isWaitlisted: Bool
    }

    struct ShowModel {
        let chrome: Chrome
        let activityID: String
        let title: String
        let when: String
        let branch: String
        let category: String
        let price: String
        let places: String
        let present: [Person]
        let waiting: [Person]
        let cancelled: [Person]
        let nobody: Bool
        let hasPresent: Bool
        let hasWaiting: Bool
        let hasCancelled: Bool
        let evaluationCount: Int
        let averageScore: String?
        let comments: [String]
        let canRegister: Bool
        let canManage: Bool
        let door: Bool
        let here: String
        let error: String?
        let registerValue: String
    }

    static let notices: [String: String] = [
        "aangemeld": "De klant is aangemeld.", "wachtlijst": "De activiteit is vol: de klant staat op de wachtlijst.",
        "bijgewerkt": "De aanmelding is bijgewerkt.", "opgeslagen": "De activiteit is opgeslagen.",
    ]

    func show(_ request: Request, _ context: KringRequestContext, door: Bool, error: String? = nil, typed: String = "") async throws -> Response {
        let staff = try Staff(context)
        let id = try activityID(context)
        let (activity, roster, evaluations, branches) = try await forActivity(.activitiesRead, context, id) { tx, actor, now in
            (
                try await Activities.find(id, in: tx), try await Activities.roster(activityID: id, by: actor, now: now, in: tx),
                try await Activities.evaluations(activityID: id, in: tx), try await Branches.list(in: tx)
            )
        }
        func person(_ line: Activities.RosterLine) -> Person {
            let status = line.registration.status
            return Person(
                registrationID: line.registration.id.lower, name: line.customerName.isEmpty ? "(naam onbekend)" : line.customerName,
                memberNumber: line.memberNumber, status: CustomerPages.registrationNames[status] ?? status.rawValue,
                isBooked: status == .booked, isAttended: status == .attended, isNoShow: status == .noShow,
                isWaitlisted: status == .waitlisted)
        }
        let waiting = roster.filter { $0.registration.status == .waitlisted }
        let (places, _) = Self.places(activity, waiting: waiting.count)
        let model = ShowModel(
            chrome: staff.chrome(
                activity.title, area: "/activiteiten",
                notice: request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] }),
            activityID: id.lower, title: activity.title,
            when: Self.capitalised(
                "\(Dutch.weekdays[Dutch.calendar.component(.weekday, from: activity.startsAt) - 1]) \(Dutch.dateTime(activity.startsAt))–\(Dutch.time(activity.endsAt))"
            ),
            branch: activity.branchID.flatMap { id in branches.first { $0.id == id }?.name } ?? "geen vestiging",
            category: activity.category, price: activity.priceCents == 0 ? "Gratis" : Dutch.amount(cents: activity.priceCents),
            places: Self.capitalised(places),
            present: roster.filter { [.booked, .attended, .noShow].contains($0.registration.status) }.map(person),
            waiting: waiting.map(person), cancelled: roster.filter { $0.registration.status == .cancelled }.map(person),
            nobody: roster.isEmpty, hasPresent: roster.contains { [.booked, .attended, .noShow].contains($0.registration.status) },
            hasWaiting: !waiting.isEmpty, hasCancelled: roster.contains { $0.registration.status == .cancelled },
            evaluationCount: evaluations.count,
            averageScore: evaluations.averageScore.map { String(format: "%.1f", $0).replacingOccurrences(of: ".", with: ",") },
            comments: Array(evaluations.comments.prefix(10)), canRegister: staff.may(.registrationsWrite),
            canManage: staff.may(.activitiesManage), door: door, here: door ? "/activiteiten/\(id.lower)/deur" : "/activiteiten/\(id.lower)",
            error: error, registerValue: typed)
        return WebResponse.html(
            try templates.render(door ? "activities/door" : "activities/show", model),
            status: error == nil ? .ok : .unprocessableContent)
    }

    func setStatus(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try activityID(context)
        guard let raw = context.parameters.get("registration"), let registrationID = UUID(uuidString: raw) else {
            throw ActivityError.registrationNotFound
        }
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        guard let status = form.value("status").flatMap(Registration.Status.init(rawValue:)), status != .waitlisted else {
            throw Problem.badRequest("status")
        }
        // What these pages offer: check in (attended, no-show) and cancel a place, or undo a check-in; a registration on
        // the waiting list or cancelled is not checked in here (its place is not held).
        let allowed: [Registration.Status: Set<Registration.Status>] = [
            .booked: [.attended, .noShow, .cancelled], .attended: [.noShow, .booked], .noShow: [.attended, .booked],
        ]
        try await services.inTenant(
            .registrationsWrite, context, record: registrationID, "registration", notFound: ActivityError.registrationNotFound
        ) { tx, actor, now in
            // The registration must belong to this activity: a mismatched pair is an unknown registration.
            let owner = try await tx.query("SELECT activity_id FROM registrations WHERE id = \(registrationID)").decode(UUID.self).first { _ in true }
            guard owner == id else { throw ActivityError.registrationNotFound }
            let stored = try await tx.query("SELECT status FROM registrations WHERE id = \(registrationID)").decode(String.self).first { _ in true }
            let current = try stored.map { try UnreadableColumn.enumValue(Registration.Status.self, $0, column: "status") }
            guard let current, allowed[current]?.contains(status) == true else {
                throw Problem.conflict("This registration cannot change from \(current?.rawValue ?? "?") to \(status.rawValue) here.")
            }
            _ = try await Activities.setStatus(registrationID: registrationID, to: status, by: actor, now: now, in: tx)
        }
        let back = form.value("terug") == "deur" ? "/activiteiten/\(id.lower)/deur" : "/activiteiten/\(id.lower)?gedaan=bijgewerkt"
        return WebResponse.redirect(back + (status == .cancelled ? "" : "#r-\(registrationID.lower)"))
    }

    func register(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let id = try activityID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let key = (form.value("klant") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        enum Outcome {
            case registered(Registration)
            case problem(String)
        }
        let outcome: Outcome = try await forActivity(.registrationsWrite, context, id) { tx, actor, now in
            let activity = try await Activities.find(id, in: tx)
            guard !key.isEmpty else { return .problem("Vul het lidnummer of e-mailadres van de klant in.") }
            // Exactly this member number or e-mail address: a name's first letters are no way to choose a person.
            let found = try await Customers.search(Customers.Search(query: key, limit: 20), by: actor, now: now, in: tx)
                .filter { $0.memberNumber?.lowercased() == key.lowercased() || $0.email?.lowercased() == key.lowercased() }
            guard found.count == 1, let customer = found.first else {
                return .problem(
                    found.isEmpty ? "Geen klant gevonden met dit lidnummer of e-mailadres." : "Meer dan één klant gevonden: gebruik het lidnummer.")
            }
            do {
                return .registered(
                    try await Activities.register(
                        customerID: customer.id, activityID: id, source: .staff,
                        pricePaidCents: activity.priceCents, by: actor, now: now, in: tx))
            } catch ActivityError.alreadyRegistered {
                return .problem("Deze klant is al aangemeld voor deze activiteit.")
            }
        }
        switch outcome {
        case .registered(let registration):
            return WebResponse.redirect("/activiteiten/\(id.lower)?gedaan=\(registration.status == .waitlisted ? "wachtlijst" : "aangemeld")")
        case .problem(let message):
            return try await show(request, context, door: false, error: message, typed: key)
        }
    }

    // MARK: Creating and changing (marketing)

    struct FormModel {
        let chrome: Chrome
        let heading: String
        let action: String
        let title: String
        let category: String
        let date: String
        let startTime: String
        let endTime: String
        let capacity: String
        let price: String
        let branches: [Choice]
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let cancel: String
    }

    private func formModel(_ staff: Staff, id: UUID?, activity: Activity?, typed: FormBody?, branches: [Branch], errors: FormErrors) -> FormModel {
        func value(_ name: String, _ current: String) -> String { typed?.value(name) ?? current }
        let branch = typed?.value("branch") ?? activity?.branchID?.lower ?? ""
        return FormModel(
            chrome: staff.chrome(id == nil ? "Nieuwe activiteit" : "Activiteit wijzigen", area: "/activiteiten"),
            heading: id == nil ? "Nieuwe activiteit" : "Activiteit wijzigen",
            action: id.map { "/activiteiten/\($0.lower)/bewerken" } ?? "/activiteiten/nieuw",
            title: value("title", activity?.title ?? ""), category: value("category", activity?.category ?? ""),
            date: value("date", activity.map { Self.isoDay($0.startsAt) } ?? ""),
            startTime: value("start", activity.map { Dutch.time($0.startsAt) } ?? ""),
            endTime: value("end", activity.map { Dutch.time($0.endsAt) } ?? ""),
            capacity: value("capacity", activity?.capacity.map(String.init) ?? ""),
            price: value("price", activity.map { String(format: "%d,%02d", $0.priceCents / 100, $0.priceCents % 100) } ?? "0,00"),
            branches: [Choice(value: "", label: "Geen vestiging", selected: branch.isEmpty)]
                + branches.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id.lower == branch) },
            errors: errors.items, hasErrors: errors.any, cancel: id.map { "/activiteiten/\($0.lower)" } ?? "/activiteiten")
    }

    func form(_ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let (activity, branches): (Activity?, [Branch])
        if let id {
            (activity, branches) = try await forActivity(.activitiesManage, context, id) { tx, _, _ in
                (try await Activities.find(id, in: tx), try await Branches.list(in: tx))
            }
        } else {
            activity = nil
            branches = try await services.inTenant(.activitiesManage, context) { tx, _, _ in try await Branches.list(in: tx) }
        }
        return WebResponse.html(
            try templates.render(
                "activities/form", formModel(staff, id: id, activity: activity, typed: nil, branches: branches, errors: FormErrors())))
    }

    /// "12,50" or "12" euros as cents.
    static func cents(_ text: String) -> Int? {
        let clean = text.replacingOccurrences(of: "€", with: "").trimmingCharacters(in: .whitespaces)
        if clean.isEmpty { return 0 }
        let parts = clean.replacingOccurrences(of: ".", with: ",").split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= 2, let euros = Int(parts[0]) else { return nil }
        if parts.count == 1 { return euros * 100 }
        let fraction = String(parts[1])
        guard (1...2).contains(fraction.count), let value = Int(fraction) else { return nil }
        return euros * 100 + (fraction.count == 1 ? value * 10 : value)
    }

    static func time(_ text: String, on day: Date) -> Date? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else {
            return nil
        }
        return Dutch.calendar.date(bySettingHour: hour, minute: minute, second: 0, of: day)
    }

    func save(_ request: Request, _ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        var errors = FormErrors()
        let day = Self.parseDay(form.value("date"))
        if day == nil { errors.add("date", "Kies een datum.") }
        let starts = day.flatMap { Self.time(form.value("start") ?? "", on: $0) }
        let ends = day.flatMap { Self.time(form.value("end") ?? "", on: $0) }
        if day != nil && starts == nil { errors.add("start", "Vul een begintijd in zoals 14:30.") }
        if day != nil && ends == nil { errors.add("end", "Vul een eindtijd in zoals 16:00.") }
        let capacityText = (form.value("capacity") ?? "").trimmingCharacters(in: .whitespaces)
        let capacity = capacityText.isEmpty ? nil : Int(capacityText)
        if !capacityText.isEmpty && capacity == nil { errors.add("capacity", "Vul een aantal plaatsen in, of laat het leeg voor vrije inloop.") }
        let price = Self.cents(form.value("price") ?? "")
        if price == nil { errors.add("price", "Vul een prijs in zoals 7,50 (of 0 voor gratis).") }
        let branch = form.value("branch").flatMap { UUID(uuidString: $0) }
        var outcome: Result<UUID, FormErrors> = .failure(errors)
        if !errors.any, let starts, let ends {
            let draft = ActivityDraft(
                title: form.value("title") ?? "", category: form.value("category") ?? "", startsAt: starts, endsAt: ends,
                capacity: capacity, priceCents: price, branchID: branch)
            let body: (TenantTransaction, AuditActor, Date) async throws -> Result<UUID, FormErrors> = { tx, actor, now in
                do {
                    if let id { return .success(try await Activities.update(id: id, draft, by: actor, now: now, in: tx).id) }
                    return .success(try await Activities.create(draft, by: actor, now: now, in: tx).id)
                } catch ActivityError.invalid(let problems) {
                    var errors = FormErrors()
                    let dutch = [
                        "title": "Vul een titel in van hooguit 200 tekens.", "category": "Vul een soort activiteit in, zoals voorlezen.",
                        "ends_at": "De eindtijd ligt na de begintijd.", "capacity": "Vul 1 tot 100.000 plaatsen in.",
                        "price_cents": "Vul een prijs in tot € 10.000.", "branch_id": "Kies een vestiging uit de lijst.",
                    ]
                    for problem in problems {
                        let field = ["ends_at": "end", "price_cents": "price", "branch_id": "branch"][problem.field] ?? problem.field
                        errors.add(field, dutch[problem.field] ?? "Controleer dit veld.")
                    }
                    return .failure(errors)
                }
            }
            outcome =
                if let id { try await forActivity(.activitiesManage, context, id, body) } else {
                    try await services.inTenant(.activitiesManage, context, body)
                }
        }
        switch outcome {
        case .success(let saved):
            return WebResponse.redirect("/activiteiten/\(saved.lower)?gedaan=opgeslagen")
        case .failure(let errors):
            let load: (TenantTransaction, AuditActor, Date) async throws -> (Activity?, [Branch]) = { tx, _, _ in
                (try await id.asyncMap { try await Activities.find($0, in: tx) }, try await Branches.list(in: tx))
            }
            let (activity, branches) =
                if let id { try await forActivity(.activitiesManage, context, id, load) } else {
                    try await services.inTenant(.activitiesManage, context, load)
                }
            return WebResponse.html(
                try templates.render(
                    "activities/form", formModel(staff, id: id, activity: activity, typed: form, branches: branches, errors: errors)),
                status: .unprocessableContent)
        }
    }
}
