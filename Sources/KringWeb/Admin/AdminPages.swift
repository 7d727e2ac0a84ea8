import Foundation
import Hummingbird
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer

/// Beheer (tenant_admin): staff, API keys, branches and the library's settings. The same administration as the API.
struct AdminPages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("beheer") { _, _ in WebResponse.redirect("/beheer/medewerkers") }
        router.get("beheer/medewerkers") { request, context in try await staff(request, context, error: nil, typed: nil) }
        router.post("beheer/medewerkers") { request, context in try await invite(request, context) }
        router.post("beheer/medewerkers/:id") { request, context in try await changeMember(request, context) }
        router.get("beheer/api-sleutels") { _, context in try await keys(context, created: nil, error: nil) }
        router.post("beheer/api-sleutels") { request, context in try await createKey(request, context) }
        router.post("beheer/api-sleutels/:id/intrekken") { _, context in try await revokeKey(context) }
        router.get("beheer/vestigingen") { _, context in try await branches(context, error: nil, typed: nil) }
        router.post("beheer/vestigingen") { request, context in try await addBranch(request, context) }
        router.get("beheer/instellingen") { request, context in try await settings(request, context, errors: FormErrors(), typed: nil) }
        router.post("beheer/instellingen") { request, context in try await saveSettings(request, context) }
    }

    static let tabs = [
        ("Medewerkers", "/beheer/medewerkers"), ("Importeren", "/beheer/import"), ("API-sleutels", "/beheer/api-sleutels"),
        ("Vestigingen", "/beheer/vestigingen"), ("Instellingen", "/beheer/instellingen"),
    ]

    struct Tab: Sendable {
        let label: String
        let href: String
        let current: Bool
    }

    static func tabs(_ current: String) -> [Tab] { tabs.map { Tab(label: $0.0, href: $0.1, current: $0.1 == current) } }

    private func administration(_ context: KringRequestContext, _ permission: Permission) throws -> StaffAdministration {
        let (principal, tenant) = try context.requireTenant(permission)
        return StaffAdministration(services: services, principal: principal, tenant: tenant, address: context.clientAddress)
    }

    static let roleNames: [Role: String] = [
        .tenantAdmin: "beheerder", .marketing: "marketing", .relations: "relatiebeheer", .frontdesk: "baliemedewerker", .analyst: "analist",
    ]

    // MARK: Staff

    struct MemberRow: Sendable {
        let id: String
        let name: String
        let email: String
        let role: String
        let disabled: Bool
        let roles: [Choice]
        let isMe: Bool
    }

    struct StaffModel {
        let chrome: Chrome
        let tabs: [Tab]
        let members: [MemberRow]
        let roles: [Choice]
        let error: String?
        let email: String
        let name: String
    }

    static let notices = [
        "uitgenodigd": "De uitnodiging is verstuurd. De link in de mail werkt 72 uur en één keer.",
        "gewijzigd": "De wijziging is opgeslagen.",
        "tweestaps": "Tweestapsverificatie is uitgezet; bij de volgende keer inloggen stelt de medewerker het opnieuw in als dat verplicht is.",
        "sleutel-ingetrokken": "De API-sleutel is ingetrokken; koppelingen die hem gebruiken werken niet meer.",
        "vestiging": "De vestiging is toegevoegd.", "instellingen": "De instellingen zijn opgeslagen.",
    ]

    private func notice(_ request: Request) -> String? { request.uri.queryParameters["gedaan"].flatMap { Self.notices[String($0)] } }

    func staff(_ request: Request, _ context: KringRequestContext, error: String?, typed: FormBody?) async throws -> Response {
        let staff = try Staff(context)
        let administration = try administration(context, .usersRead)
        let members = try await administration.members().sorted { $0.user.displayName.lowercased() < $1.user.displayName.lowercased() }
        let chosenRole = typed?.value("role") ?? Role.frontdesk.rawValue
        let model = StaffModel(
            chrome: staff.chrome("Medewerkers", area: "/beheer", notice: notice(request)), tabs: Self.tabs("/beheer/medewerkers"),
            members: members.map { member in
                MemberRow(
                    id: member.user.id.lower, name: member.user.displayName.isEmpty ? member.user.email : member.user.displayName,
                    email: member.user.email, role: Self.roleNames[member.role] ?? member.role.rawValue, disabled: member.disabled,
                    roles: Role.tenantRoles.map { Choice(value: $0.rawValue, label: Self.roleNames[$0] ?? $0.rawValue, selected: $0 == member.role) },
                    isMe: member.user.id == staff.principal.userID)
            },
            roles: Role.tenantRoles.map { Choice(value: $0.rawValue, label: Self.roleNames[$0] ?? $0.rawValue, selected: $0.rawValue == chosenRole) },
            error: error, email: typed?.value("email") ?? "", name: typed?.value("name") ?? "")
        return WebResponse.html(try templates.render("admin/staff", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func invite(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let administration = try administration(context, .usersManage)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        do {
            _ = try await administration.invite(email: form.value("email") ?? "", displayName: form.value("name"), role: form.value("role") ?? "")
        } catch let problem as Problem where problem.status == 422 {
            return try await staff(request, context, error: "Vul een geldig e-mailadres in en kies een rol.", typed: form)
        } catch StaffError.alreadyMember {
            return try await staff(request, context, error: "Met dit e-mailadres werkt al iemand voor de bibliotheek.", typed: form)
        }
        return WebResponse.redirect("/beheer/medewerkers?gedaan=uitgenodigd")
    }

    func changeMember(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let administration = try administration(context, .usersManage)
        guard let raw = context.parameters.get("id"), let userID = UUID(uuidString: raw) else { throw StaffError.notFound }
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        do {
            switch form.value("action") {
            case "role": _ = try await administration.update(userID: userID, role: form.value("role"), disabled: nil)
            case "disable": _ = try await administration.update(userID: userID, role: nil, disabled: true)
            case "enable": _ = try await administration.update(userID: userID, role: nil, disabled: false)
            case "reset-two-factor":
                try await administration.resetTwoFactor(userID: userID)
                return WebResponse.redirect("/beheer/medewerkers?gedaan=tweestaps")
            default: throw Problem.badRequest("action")
            }
        } catch let error as StaffError where error != .notFound {
            let message =
                error == .sharedAccount
                ? "Deze medewerker werkt ook voor een andere bibliotheek of voor Probiblio. Vraag Probiblio om de tweestapsverificatie te resetten."
                : error.problem.status == 409
                    ? "Dat kan niet: de bibliotheek houdt minstens één actieve beheerder."
                    : "Dat lukte niet: kies een rol uit de lijst."
            return try await staff(request, context, error: message, typed: nil)
        }
        return WebResponse.redirect("/beheer/medewerkers?gedaan=gewijzigd")
    }

    // MARK: API keys

    struct KeyRow: Sendable {
        let id: String
        let name: String
        let scopes: String
        let created: String
        let expires: String
        let lastUsed: String
        let active: Bool
        let state: String
    }

    struct KeysModel {
        let chrome: Chrome
        let tabs: [Tab]
        let keys: [KeyRow]
        let none: Bool
        let scopes: [Choice]
        let created: String?
        let createdName: String?
        let error: String?
    }

    static let scopeNames: [APIScope: String] = [
        .customersRead: "klanten lezen", .customersWrite: "klanten bijwerken", .importsWrite: "ledenbestand importeren",
        .registrationsWrite: "aanmeldingen (ticketing)", .emailEventsWrite: "mailgebeurtenissen (mailprovider)",
    ]

    func keys(_ context: KringRequestContext, created: (name: String, secret: String)?, error: String?) async throws -> Response {
        let staff = try Staff(context)
        let administration = try administration(context, .apiKeysManage)
        let now = services.now()
        let keys = try await administration.keys()
        let rows = keys.map { key -> KeyRow in
            let expired = key.expiresAt.map { $0 <= now } ?? false
            let state = key.revokedAt != nil ? "ingetrokken" : (expired ? "verlopen" : "actief")
            return KeyRow(
                id: key.id, name: key.name, scopes: key.scopes.map { Self.scopeNames[$0] ?? $0.rawValue }.joined(separator: ", "),
                created: Dutch.date(key.createdAt), expires: key.expiresAt.map(Dutch.date) ?? "nooit",
                lastUsed: key.lastUsedAt.map(Dutch.date) ?? "nog niet", active: key.revokedAt == nil && !expired, state: state)
        }
        let model = KeysModel(
            chrome: staff.chrome("API-sleutels", area: "/beheer"), tabs: Self.tabs("/beheer/api-sleutels"),
            keys: rows, none: rows.isEmpty,
            scopes: APIScope.allCases.map { Choice(value: $0.rawValue, label: Self.scopeNames[$0] ?? $0.rawValue, selected: false) },
            created: created?.secret, createdName: created?.name, error: error)
        var response = WebResponse.html(try templates.render("admin/keys", model), status: error == nil ? .ok : .unprocessableContent)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func createKey(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let administration = try administration(context, .apiKeysManage)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let name = (form.value("name") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let scopes = form.values("scope")
        let days = Int(form.value("days") ?? "") ?? 0
        guard !name.isEmpty, !scopes.isEmpty, (0...730).contains(days) else {
            return try await keys(context, created: nil, error: "Geef de sleutel een naam, kies wat de koppeling mag en een geldigheid tot 2 jaar.")
        }
        let expiresAt = days == 0 ? nil : services.now().addingTimeInterval(TimeInterval(days) * 86_400)
        do {
            let created = try await administration.createKey(name: name, scopes: scopes, expiresAt: expiresAt)
            // The secret is shown on this answer only (not after a redirect): it is never stored or shown again.
            return try await keys(context, created: (created.key.name, created.secret), error: nil)
        } catch let problem as any ProblemConvertible where problem.problem.status == 422 {
            return try await keys(context, created: nil, error: "Geef de sleutel een naam van hooguit 100 tekens en kies wat de koppeling mag.")
        }
    }

    func revokeKey(_ context: KringRequestContext) async throws -> Response {
        let administration = try administration(context, .apiKeysManage)
        try await administration.revokeKey(id: context.parameters.get("id") ?? "")
        return WebResponse.redirect("/beheer/api-sleutels?gedaan=sleutel-ingetrokken")
    }

    // MARK: Branches

    struct BranchRow: Sendable {
        let name: String
        let municipality: String
        let address: String
    }

    struct BranchesModel {
        let chrome: Chrome
        let tabs: [Tab]
        let branches: [BranchRow]
        let hasBranches: Bool
        let error: String?
        let name: String
        let municipality: String
    }

    func branches(_ context: KringRequestContext, error: String?, typed: FormBody?, notice: String? = nil) async throws -> Response {
        let staff = try Staff(context)
        let branches = try await services.inTenant(.branchesManage, context) { tx, _, _ in try await Branches.list(in: tx) }
        let model = BranchesModel(
            chrome: staff.chrome("Vestigingen", area: "/beheer", notice: notice), tabs: Self.tabs("/beheer/vestigingen"),
            branches: branches.map {
                BranchRow(
                    name: $0.name, municipality: $0.municipality,
                    address: [
                        [$0.street, $0.houseNumber].compactMap { $0 }.joined(separator: " "),
                        [Dutch.postcode($0.postcode), $0.city].compactMap { $0 }.joined(separator: " "),
                    ]
                    .filter { !$0.isEmpty }.joined(separator: ", "))
            },
            hasBranches: !branches.isEmpty, error: error, name: typed?.value("name") ?? "", municipality: typed?.value("municipality") ?? "")
        return WebResponse.html(try templates.render("admin/branches", model), status: error == nil ? .ok : .unprocessableContent)
    }

    func addBranch(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let draft = BranchDraft(name: form.value("name") ?? "", municipality: form.value("municipality") ?? "")
        do {
            _ = try await services.inTenant(.branchesManage, context) { tx, actor, now in
                try await Branches.create(draft, by: actor, now: now, in: tx)
            }
        } catch let problem as any ProblemConvertible where [409, 422].contains(problem.problem.status) {
            let message =
                problem.problem.status == 409
                    || (problem.problem.errors ?? []).contains { $0.message.contains("exists") || $0.message.contains("already") }
                ? "Er is al een vestiging met deze naam." : "Vul de naam van de vestiging en de gemeente in."
            return try await branches(context, error: message, typed: form)
        }
        return WebResponse.redirect("/beheer/vestigingen?gedaan=vestiging")
    }

    // MARK: Settings

    struct SettingsModel {
        let chrome: Chrome
        let tabs: [Tab]
        let complaintDays: String
        let fromName: String
        let fromAddress: String
        let replyTo: String
        let twoFactorRequired: Bool
        let idleMinutes: String
        let retention: [RetentionField]
        let wouldGo: String
        let errors: [FormErrors.Item]
        let hasErrors: Bool
    }

    struct RetentionField: Sendable {
        let name: String
        let label: String
        let hint: String
        let value: String
    }

    /// The retention terms on the form: key, label and hint (the range).
    static let retentionFields: [(key: String, label: String, hint: String)] = [
        ("retention_ended_members_months", "Oud-leden: persoonsgegevens wissen na (maanden na het einde van het lidmaatschap)", "Standaard 24."),
        ("retention_guests_months", "Activiteitgasten zonder andere band: wissen na (maanden na hun laatste activiteit)", "Standaard 12."),
        ("retention_mail_events_months", "Mailgebeurtenissen (verstuurd, geopend, geklikt) bewaren (maanden)", "Standaard 13."),
        ("retention_audit_months", "Auditlog bewaren (maanden)", "Ten minste 12; standaard 24."),
    ]

    func settings(_ request: Request, _ context: KringRequestContext, errors: FormErrors, typed: FormBody?) async throws -> Response {
        let staff = try Staff(context)
        let (current, wouldGo) = try await services.inTenant(.settingsManage, context) { tx, _, now in
            (try await TenantSettings.load(in: tx), try await Retention.dryRun(now: now, in: tx))
        }
        func value(_ name: String, _ fallback: String) -> String { typed?.value(name) ?? fallback }
        let terms = current.retention
        let model = SettingsModel(
            chrome: staff.chrome("Instellingen", area: "/beheer", notice: notice(request)), tabs: Self.tabs("/beheer/instellingen"),
            complaintDays: value("complaint_due_days", String(current.complaintDueDays)),
            fromName: value("mail_from_name", current.mailFromName ?? ""),
            fromAddress: value("mail_from_address", current.mailFromAddress ?? ""), replyTo: value("mail_reply_to", current.mailReplyTo ?? ""),
            twoFactorRequired: typed.map { $0.value("two_factor_required") == "on" } ?? current.twoFactorRequired,
            idleMinutes: value("idle_timeout_minutes", String(current.idleTimeoutMinutes)),
            retention: Self.retentionFields.map { field in
                RetentionField(
                    name: field.key, label: field.label, hint: field.hint, value: value(field.key, terms[field.key].map(String.init) ?? ""))
            },
            wouldGo: Self.wouldGo(wouldGo), errors: errors.items, hasErrors: errors.any)
        return WebResponse.html(try templates.render("admin/settings", model), status: errors.any ? .unprocessableContent : .ok)
    }

    static func retentionMessage(_ key: String) -> String {
        let range = TenantSettings.retentionRanges[key] ?? 1...120
        return "Vul een aantal maanden in, van \(range.lowerBound) tot \(range.upperBound)."
    }

    /// The dry run in a sentence: what tonight's run would remove with the terms as saved.
    static func wouldGo(_ counts: Retention.Counts) -> String {
        guard counts.total > 0 else { return "Met deze termijnen verdwijnt er vannacht niets." }
        func people(_ count: Int, _ one: String, _ many: String) -> String { "\(Dutch.number(count)) \(count == 1 ? one : many)" }
        return "Met deze termijnen worden vannacht de gegevens gewist van \(people(counts.endedMembers, "oud-lid", "oud-leden")) en "
            + "\(people(counts.guests, "activiteitgast", "activiteitgasten")), en verdwijnen "
            + "\(people(counts.mailEvents, "mailgebeurtenis", "mailgebeurtenissen")) en \(people(counts.auditRecords, "auditregel", "auditregels"))."
    }

    func saveSettings(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        var errors = FormErrors()
        func text(_ name: String) -> String? {
            let value = (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        let days = text("complaint_due_days").map { Int($0) }
        if case .some(nil) = days { errors.add("complaint_due_days", "Vul een aantal dagen in, van 1 tot 365.") }
        let minutes = text("idle_timeout_minutes").map { Int($0) }
        if case .some(nil) = minutes { errors.add("idle_timeout_minutes", "Vul een aantal minuten in, van 5 tot 480.") }
        var terms: [String: Int] = [:]
        for field in Self.retentionFields {
            guard let raw = text(field.key) else { continue }
            if let months = Int(raw), TenantSettings.retentionRanges[field.key]?.contains(months) == true {
                terms[field.key] = months
            } else {
                errors.add(field.key, Self.retentionMessage(field.key))
            }
        }
        if !errors.any {
            let change = TenantSettings.Change(
                complaintDueDays: days ?? nil, mailFromName: text("mail_from_name"), mailFromAddress: text("mail_from_address"),
                mailReplyTo: text("mail_reply_to"), twoFactorRequired: form.value("two_factor_required") == "on", idleTimeoutMinutes: minutes ?? nil,
                retentionEndedMembersMonths: terms["retention_ended_members_months"], retentionGuestsMonths: terms["retention_guests_months"],
                retentionMailEventsMonths: terms["retention_mail_events_months"], retentionAuditMonths: terms["retention_audit_months"])
            do {
                _ = try await services.inTenant(.settingsManage, context) { tx, actor, now in
                    try await TenantSettings.change(change, by: actor, now: now, in: tx)
                }
            } catch SettingsError.invalid(let problems) {
                let dutch = [
                    "complaint_due_days": "Vul een aantal dagen in, van 1 tot 365.",
                    "mail_from_name": "Vul een afzendernaam in van hooguit 200 tekens, op één regel.",
                    "mail_from_address": "Vul een e-mailadres in zoals info@bibliotheek.nl.",
                    "mail_reply_to": "Vul een e-mailadres in zoals info@bibliotheek.nl.",
                    "idle_timeout_minutes": "Vul een aantal minuten in, van 5 tot 480.",
                ]
                for problem in problems {
                    errors.add(
                        problem.field,
                        dutch[problem.field]
                            ?? (problem.field.hasPrefix("retention_") ? Self.retentionMessage(problem.field) : "Controleer dit veld."))
                }
            }
        }
        if errors.any { return try await settings(request, context, errors: errors, typed: form) }
        return WebResponse.redirect("/beheer/instellingen?gedaan=instellingen")
    }
}
