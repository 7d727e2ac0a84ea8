import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer

/// Contactpersonen: the people at the library's organisations, one person with every role they held (a coordinator
/// who moved keeps both, with dates), their consents and the contacts they were at; and moving a person to another
/// organisation in one form.
struct ContactPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("relaties/personen") { request, context in try await list(request, context) }
        router.get("relaties/personen/:id") { request, context in try await show(request, context) }
        router.get("relaties/personen/:id/verhuizen") { request, context in try await moveForm(request, context) }
        router.post("relaties/personen/:id/verhuizen") { request, context in try await move(request, context) }
    }

    static let listLimit = 200

    /// One person of a decision-making unit ("beslisser", "adviseur").
    static let roleNames: [DMURole: String] = [
        .decisionMaker: "beslisser", .advisor: "adviseur", .gatekeeper: "poortwachter", .user: "gebruiker", .influencer: "beïnvloeder",
    ]
    static let consentNames: [ContactConsent.Status: String] = [.optedIn: "aangemeld", .confirmed: "bevestigd", .withdrawn: "ingetrokken"]
    static let sourceNames: [ContactConsent.Source: String] = [.import: "import", .staff: "medewerker", .webForm: "webformulier"]

    static func path(_ id: UUID) -> String { "/relaties/personen/\(id.lower)" }

    private func contactID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw RelationsError.notFound(.contact) }
        return id
    }

    // MARK: The list

    struct ListRow: Sendable {
        let href: String
        let name: String
        let email: String
        let organisations: String
    }

    struct ListModel {
        let chrome: Chrome
        let tabs: [AdminPages.Tab]
        let query: String
        let rows: [ListRow]
        let none: Bool
        let noneText: String
        let count: String
        let more: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let query = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        let listed = try await services.inTenant(.relationsRead, context) { tx, actor, now in
            try await Contacts.directory(query: query.isEmpty ? nil : query, limit: Self.listLimit + 1, by: actor, now: now, in: tx)
        }
        let shown = listed.prefix(Self.listLimit)
        let rows = shown.map { person in
            ListRow(
                href: Self.path(person.contact.id), name: person.contact.displayName, email: person.contact.email ?? "",
                organisations: person.currentRoles.map { role in role.jobTitle.map { "\($0), \(role.organisationName)" } ?? role.organisationName }
                    .joined(separator: "; "))
        }
        let model = ListModel(
            chrome: staff.chrome("Contactpersonen", area: "/relaties"), tabs: OrganisationPages.tabs("/relaties/personen", staff), query: query,
            rows: rows, none: rows.isEmpty,
            noneText: query.isEmpty
                ? "Er zijn nog geen contactpersonen."
                : "Niemand gevonden. Zoek op het begin van de achternaam (zonder tussenvoegsel) of op het hele e-mailadres.",
            count: rows.count == 1 ? "1 contactpersoon" : "\(Dutch.number(rows.count)) contactpersonen", more: listed.count > Self.listLimit)
        return WebResponse.html(try templates.render("relations/people", model))
    }

    // MARK: One person

    struct RoleLine: Sendable {
        let href: String
        let organisation: String
        let role: String
        let jobTitle: String
        let period: String
        let current: Bool
    }

    struct ConsentLine: Sendable {
        let topic: String
        let status: String
        let recorded: String
    }

    struct ContactLine: Sendable {
        let subject: String
        let kind: String
        let when: String
        let organisation: String
    }

    struct ShowModel {
        let chrome: Chrome
        let id: String
        let name: String
        let facts: [Fact]
        let canMove: Bool
        let roles: [RoleLine]
        let noRoles: Bool
        let consents: [ConsentLine]
        let noConsents: Bool
        let contacts: [ContactLine]
        let noContacts: Bool
    }

    func show(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try contactID(context)
        let (detail, interactions, names) = try await services.inTenant(
            .relationsRead, context, record: id, "contact", notFound: RelationsError.notFound(.contact)
        ) { tx, actor, now in
            let detail = try await Contacts.read(id: id, by: actor, now: now, in: tx)
            let interactions = try await Interactions.list(.init(contactID: id, limit: 20), in: tx)
            // The organisations of contacts where the person no longer has a role.
            var names = Dictionary(detail.roles.map { ($0.organisationID, $0.organisationName) }, uniquingKeysWith: { first, _ in first })
            let missing = Array(Set(interactions.map(\.organisationID)).subtracting(names.keys))
            if !missing.isEmpty {
                for try await (id, name) in try await tx.query("SELECT id, name FROM organisations WHERE id = ANY(\(missing))").decode(
                    (UUID, String).self)
                {
                    names[id] = name
                }
            }
            return (detail, interactions, names)
        }
        let today = CalendarDate(services.now())
        let contact = detail.contact
        var facts: [Fact] = []
        if let email = contact.email { facts.append(Fact(label: "E-mail", value: email)) }
        if let phone = contact.phone { facts.append(Fact(label: "Telefoon", value: phone)) }
        if let notes = contact.notes { facts.append(Fact(label: "Notities", value: notes)) }
        // Today's roles first, then the ended ones, newest first.
        let ordered = detail.roles.filter { $0.isActive(on: today) } + detail.roles.filter { !$0.isActive(on: today) }
        let roles = ordered.map { role in
            RoleLine(
                href: "/relaties/\(role.organisationID.lower)", organisation: role.organisationName,
                role: Self.roleNames[role.dmuRole] ?? role.dmuRole.rawValue, jobTitle: role.jobTitle ?? "",
                period: role.activeTo.map { "\(Dutch.date(role.activeFrom)) tot en met \(Dutch.date($0))" }
                    ?? "sinds \(Dutch.date(role.activeFrom))",
                current: role.isActive(on: today))
        }
        let consents = detail.consents.map { consent in
            ConsentLine(
                topic: consent.topic.hasPrefix("relations:") ? String(consent.topic.dropFirst("relations:".count)) : consent.topic,
                status: Self.consentNames[consent.status] ?? consent.status.rawValue,
                recorded: "\(Dutch.date(consent.recordedAt)), via \(Self.sourceNames[consent.source] ?? consent.source.rawValue)")
        }
        let contacts = interactions.map { interaction in
            ContactLine(
                subject: interaction.subject, kind: OrganisationPages.interactionNames[interaction.kind] ?? interaction.kind.rawValue,
                when: Dutch.date(interaction.occurredAt), organisation: names[interaction.organisationID] ?? "")
        }
        let model = ShowModel(
            chrome: staff.chrome(
                contact.displayName, area: "/relaties",
                notice: request.uri.queryParameters["gedaan"] == "verhuisd" ? "De nieuwe rol is vastgelegd; de oude is beëindigd." : nil),
            id: id.lower, name: contact.displayName, facts: facts,
            canMove: staff.may(.relationsWrite) && detail.roles.contains { $0.activeTo == nil }, roles: roles, noRoles: roles.isEmpty,
            consents: consents, noConsents: consents.isEmpty, contacts: contacts, noContacts: contacts.isEmpty)
        return WebResponse.html(try templates.render("relations/person", model))
    }

    // MARK: Moving to another organisation

    struct MoveModel {
        let chrome: Chrome
        let id: String
        let name: String
        let oldRoles: [Choice]
        let single: Bool
        let organisations: [Choice]
        let roles: [Choice]
        let jobTitle: String
        let date: String
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let roleError: String?
        let organisationError: String?
        let dateError: String?
    }

    struct Typed {
        var role = ""
        var organisation = ""
        var dmuRole = ""
        var jobTitle = ""
        var date: String
    }

    /// The person, their open roles and the organisations to choose from.
    private func formData(_ id: UUID, _ context: KringRequestContext) async throws -> (ContactDetail, [Organisation]) {
        try await services.inTenant(.relationsWrite, context, record: id, "contact", notFound: RelationsError.notFound(.contact)) {
            tx, actor, now in
            let detail = try await Contacts.read(id: id, by: actor, now: now, in: tx)
            let organisations = try await Organisations.search(.init(limit: 2_000), in: tx)
            return (detail, organisations.sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending })
        }
    }

    func moveForm(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try contactID(context)
        let (detail, organisations) = try await formData(id, context)
        let open = detail.roles.filter { $0.activeTo == nil }
        let first = open.first
        let typed = Typed(
            role: first?.id.lower ?? "", dmuRole: first?.dmuRole.rawValue ?? DMURole.advisor.rawValue, jobTitle: first?.jobTitle ?? "",
            date: CalendarDate(services.now()).description)
        return try renderMove(staff, detail: detail, organisations: organisations, typed: typed, errors: FormErrors())
    }

    private func renderMove(
        _ staff: Staff, detail: ContactDetail, organisations: [Organisation], typed: Typed, errors: FormErrors
    ) throws -> Response {
        let open = detail.roles.filter { $0.activeTo == nil }
        let name = detail.contact.displayName
        let model = MoveModel(
            chrome: staff.chrome("\(name) naar een andere organisatie", area: "/relaties"), id: detail.contact.id.lower, name: name,
            oldRoles: open.map { role in
                Choice(
                    value: role.id.lower,
                    label: "\(role.jobTitle.map { "\($0) bij " } ?? "")\(role.organisationName), sinds \(Dutch.date(role.activeFrom))",
                    selected: role.id.lower == typed.role || open.count == 1)
            }, single: open.count == 1,
            organisations: [Choice(value: "", label: "Kies een organisatie", selected: typed.organisation.isEmpty)]
                + organisations.map { Choice(value: $0.id.lower, label: $0.name, selected: $0.id.lower == typed.organisation) },
            roles: DMURole.allCases.map {
                Choice(value: $0.rawValue, label: (Self.roleNames[$0] ?? $0.rawValue).capitalizedFirst, selected: $0.rawValue == typed.dmuRole)
            },
            jobTitle: typed.jobTitle, date: typed.date, errors: errors.items, hasErrors: errors.any, roleError: errors.message("role"),
            organisationError: errors.message("organisation"), dateError: errors.message("date"))
        return WebResponse.html(try templates.render("relations/move", model), status: errors.any ? .unprocessableContent : .ok)
    }

    func move(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let id = try contactID(context)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        func text(_ name: String) -> String { (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let typed = Typed(
            role: text("role"), organisation: text("organisation"), dmuRole: text("dmu_role"), jobTitle: text("job_title"), date: text("date"))
        var errors = FormErrors()
        let roleID = UUID(uuidString: typed.role)
        if roleID == nil { errors.add("role", "Kies de rol die eindigt.") }
        let organisationID = UUID(uuidString: typed.organisation)
        if organisationID == nil { errors.add("organisation", "Kies de organisatie waar de persoon nu werkt.") }
        let dmuRole = DMURole(rawValue: typed.dmuRole)
        if dmuRole == nil { errors.add("dmu_role", "Kies een rol.") }
        if typed.jobTitle.count > 150 { errors.add("job_title", "Gebruik voor de functie hoogstens 150 tekens.") }
        let day = CalendarDate(typed.date)
        if day == nil { errors.add("date", "Vul de datum in waarop de persoon begint, bijvoorbeeld \(Dutch.date(CalendarDate(services.now()))).") }
        if !errors.any, let roleID, let organisationID, let dmuRole, let day {
            let draft = ContactRoleDraft(
                organisationID: organisationID, dmuRole: dmuRole.rawValue, jobTitle: typed.jobTitle.isEmpty ? nil : typed.jobTitle,
                activeFrom: day.description)
            do {
                let valid = try draft.validate(today: CalendarDate(services.now()))
                _ = try await services.inTenant(.relationsWrite, context, record: id, "contact", notFound: RelationsError.notFound(.contact)) {
                    tx, actor, now in
                    try await Contacts.move(contactID: id, roleID: roleID, to: valid, by: actor, now: now, in: tx)
                }
                return WebResponse.redirect("\(Self.path(id))?gedaan=verhuisd")
            } catch RelationsError.notFound(.contactRole) {
                errors.add("role", "Kies de rol die eindigt.")
            } catch RelationsError.invalid(let problems) {
                for problem in problems {
                    switch problem.field {
                    case "role": errors.add("role", "Deze rol is al beëindigd; kies een rol die nog loopt.")
                    case "organisation_id":
                        errors.add(
                            "organisation",
                            problem.message.hasPrefix("The person")
                                ? "De persoon werkt al bij deze organisatie; kies de nieuwe." : "Kies de organisatie uit de lijst.")
                    default: errors.add("date", "De nieuwe rol moet beginnen na de start van de oude rol.")
                    }
                }
            }
        }
        let (detail, organisations) = try await formData(id, context)
        return try renderMove(staff, detail: detail, organisations: organisations, typed: typed, errors: errors)
    }
}

extension String {
    /// "beslisser" → "Beslisser".
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
