import Foundation
import Hummingbird
import KringAuth
import KringB2B
import KringB2C
import KringCampaigns
import KringCore
import KringDatabase
import KringServer

/// Sjablonen: the library's mail templates and the editor. The preview renders what is in the form (saved or not) in
/// the library's layout for a customer or contact the person names by member number or e-mail address: the HTML and
/// the plain text side by side, with the links a sent mail would track listed. Every save is a new version; an older
/// version can be opened and saved again as the newest. The script refreshes the preview while one types.
struct TemplatePages {
    let services: AppServices
    let templates: WebTemplates

    func addRoutes(to router: Router<KringRequestContext>) {
        router.get("campagnes/sjablonen") { request, context in try await list(request, context) }
        router.get("campagnes/sjablonen/nieuw") { request, context in try await editor(request, context, id: nil) }
        router.post("campagnes/sjablonen/nieuw") { request, context in try await submit(request, context, id: nil) }
        router.get("campagnes/sjablonen/:id") { request, context in try await editor(request, context, id: try templateID(context)) }
        router.post("campagnes/sjablonen/:id") { request, context in try await submit(request, context, id: try templateID(context)) }
    }

    private func templateID(_ context: KringRequestContext) throws -> UUID {
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else { throw TemplateError.notFound }
        return id
    }

    static let starting = TemplateContent(
        subject: "Nieuws van de bibliotheek",
        html: "<p>Beste {{customer.first_name}},</p>\n<p>…</p>\n<p><a href=\"{{unsubscribe_url}}\">Afmelden</a></p>",
        text: "Beste {{customer.first_name}},\n\n…\n\nAfmelden: {{unsubscribe_url}}")

    // MARK: The list

    struct Row: Sendable {
        let href: String
        let name: String
        let subject: String
        let version: String
        let updated: String
    }

    struct ListModel {
        let chrome: Chrome
        let templatesTab = true
        let rows: [Row]
        let none: Bool
        let canCreate: Bool
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> Response {
        let staff = try Staff(context)
        let found = try await services.inTenant(.campaignsRead, context) { tx, _, _ in try await Templates.list(after: nil, limit: 500, in: tx) }
        let rows = found.sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }.map {
            Row(
                href: "/campagnes/sjablonen/\($0.id.lower)", name: $0.name, subject: $0.subject, version: "versie \($0.version)",
                updated: Dutch.date($0.updatedAt))
        }
        let model = ListModel(
            chrome: staff.chrome("Sjablonen", area: "/campagnes"), rows: rows, none: rows.isEmpty, canCreate: staff.may(.campaignsWrite))
        return WebResponse.html(try templates.render("campaigns/templates", model))
    }

    // MARK: The editor

    /// The preview, for the page and for the script.
    struct Preview: Sendable, Encodable {
        let subject: String
        let html: String
        let text: String
        let links: [String]
        let message: String
    }

    struct VersionLine: Sendable {
        let label: String
        let href: String
        let when: String
        let current: Bool
    }

    struct EditorModel {
        let chrome: Chrome
        let action: String
        let heading: String
        let name: String
        let subject: String
        let html: String
        let text: String
        let version: String
        let recipient: String
        let canEdit: Bool
        let errors: [FormErrors.Item]
        let hasErrors: Bool
        let nameError: String?
        let subjectError: String?
        let htmlError: String?
        let textError: String?
        let shown: Bool
        let preview: Preview
        let versions: [VersionLine]
        let hasVersions: Bool
        let olderVersion: String
    }

    struct Typed {
        var name: String
        var content: TemplateContent
        var recipient = ""
    }

    func editor(_ request: Request, _ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        let asked = request.uri.queryParameters["versie"].flatMap { Int(String($0)) }
        let (template, versions) = try await services.inTenant(
            .campaignsRead, context, record: id ?? UUID(), "template", notFound: TemplateError.notFound
        ) { tx, _, _ -> (Template?, [(version: Int, createdBy: UUID?, createdAt: Date)]) in
            guard let id else { return (nil, []) }
            let shown = if let asked { try await Templates.find(id: id, version: asked, in: tx) } else { try await Templates.find(id: id, in: tx) }
            return (shown, try await Templates.versions(id: id, in: tx))
        }
        let typed = Typed(name: template?.name ?? "", content: template?.content ?? Self.starting)
        return try render(
            staff, id: id, typed: typed, version: versions.first?.version ?? 1, shownVersion: template?.version, versions: versions, preview: nil,
            errors: FormErrors(), notice: request.uri.queryParameters["gedaan"] == "opgeslagen" ? "Het sjabloon is opgeslagen." : nil)
    }

    private func render(
        _ staff: Staff, id: UUID?, typed: Typed, version: Int, shownVersion: Int?, versions: [(version: Int, createdBy: UUID?, createdAt: Date)],
        preview: Preview?, errors: FormErrors, notice: String? = nil
    ) throws -> Response {
        let heading = id == nil ? "Nieuw sjabloon" : typed.name
        let model = EditorModel(
            chrome: staff.chrome(heading, area: "/campagnes", notice: notice),
            action: id.map { "/campagnes/sjablonen/\($0.lower)" } ?? "/campagnes/sjablonen/nieuw", heading: heading, name: typed.name,
            subject: typed.content.subject, html: typed.content.html, text: typed.content.text, version: String(version),
            recipient: typed.recipient, canEdit: staff.may(.campaignsWrite), errors: errors.items, hasErrors: errors.any,
            nameError: errors.message("name"), subjectError: errors.message("subject"), htmlError: errors.message("html"),
            textError: errors.message("text"), shown: preview != nil,
            preview: preview ?? Preview(subject: "", html: "", text: "", links: [], message: ""),
            versions: versions.map { entry in
                VersionLine(
                    label: "Versie \(entry.version)", href: "/campagnes/sjablonen/\(id?.lower ?? "")?versie=\(entry.version)",
                    when: Dutch.dateTime(entry.createdAt), current: entry.version == (shownVersion ?? version))
            }, hasVersions: versions.count > 1,
            olderVersion: shownVersion.map { $0 < version ? "U bekijkt versie \($0). Opslaan maakt er versie \(version + 1) van." : "" } ?? "")
        return WebResponse.html(try templates.render("campaigns/template", model), status: errors.any ? .unprocessableContent : .ok)
    }

    /// The template's errors of the service, in Dutch at the field.
    static func dutch(_ problems: [FieldError]) -> FormErrors {
        var errors = FormErrors()
        for problem in problems {
            switch problem.field {
            case "name": errors.add("name", "Geef het sjabloon een naam van hoogstens 200 tekens.")
            case "subject" where problem.message.hasPrefix("Give"): errors.add("subject", "Vul een onderwerp in van hoogstens 500 tekens.")
            case "html" where problem.message.hasPrefix("Give"): errors.add("html", "Vul de HTML van de mail in.")
            case "text" where problem.message.hasPrefix("Give"): errors.add("text", "Vul de platte tekst van de mail in.")
            case "subject", "html", "text": errors.add(problem.field, "Er klopt iets niet aan een {{…}}-veld: \(problem.message)")
            default: errors.add("name", "Dit kon niet worden opgeslagen: \(problem.message)")
            }
        }
        return errors
    }

    /// The customer (member number or e-mail address) or, for those who read relations, the contact (e-mail address)
    /// the preview is for.
    private func recipient(_ typed: String, staff: Staff, in tx: TenantTransaction) async throws -> Recipient? {
        let needle = typed.trimmingCharacters(in: .whitespaces)
        guard !needle.isEmpty else { return nil }
        for try await id in try await tx.query(
            """
            SELECT id FROM customers WHERE (member_number = \(needle) OR email = lower(\(needle))) AND merged_into IS NULL AND erased_at IS NULL
            ORDER BY ('member' = ANY (roles)) DESC, id LIMIT 1
            """
        ).decode(UUID.self) {
            return .customer(id)
        }
        if staff.may(.relationsRead) {
            for try await id in try await tx.query("SELECT id FROM contacts WHERE email = lower(\(needle)) LIMIT 1").decode(UUID.self) {
                return .contact(id)
            }
        }
        return nil
    }

    /// Voorbeeld (render what is in the form for the named person) or Opslaan (a new template or version).
    func submit(_ request: Request, _ context: KringRequestContext, id: UUID?) async throws -> Response {
        let staff = try Staff(context)
        _ = try context.requireTenant(.campaignsWrite)
        let form = try await FormBody.read(request, limit: services.settings.maxBodyBytes)
        let typed = Typed(
            name: (form.value("name") ?? "").trimmingCharacters(in: .whitespacesAndNewlines),
            content: TemplateContent(subject: form.value("subject") ?? "", html: form.value("html") ?? "", text: form.value("text") ?? ""),
            recipient: form.value("recipient") ?? "")
        let saving = form.value("action") == "save"
        let wantsJSON = WebResponse.wantsJSON(request)
        let expected = Int(form.value("version") ?? "") ?? 1
        var errors = FormErrors()
        var preview: Preview?
        if saving {
            do {
                let draft = TemplateDraft(name: typed.name, subject: typed.content.subject, html: typed.content.html, text: typed.content.text)
                let saved = try await services.inTenant(.campaignsWrite, context, record: id ?? UUID(), "template", notFound: TemplateError.notFound)
                {
                    tx, actor, now in
                    if let id {
                        try await Templates.replace(id: id, with: draft, expectedVersion: expected, by: actor, now: now, in: tx)
                    } else {
                        try await Templates.create(draft, by: actor, now: now, in: tx)
                    }
                }
                return WebResponse.redirect("/campagnes/sjablonen/\(saved.id.lower)?gedaan=opgeslagen")
            } catch TemplateError.invalid(let problems) {
                errors = Self.dutch(problems)
            } catch TemplateError.versionMismatch(let current) {
                errors.add(
                    "name", "Iemand anders heeft dit sjabloon intussen opgeslagen (nu versie \(current)). Open het opnieuw en breng uw wijziging aan."
                )
            }
        } else {
            preview = try await self.preview(typed, id: id, staff: staff, context)
            if wantsJSON {
                return try WebResponse.json(preview)
            }
        }
        let versions = try await services.inTenant(.campaignsRead, context, record: id ?? UUID(), "template", notFound: TemplateError.notFound) {
            tx, _, _ -> [(version: Int, createdBy: UUID?, createdAt: Date)] in
            guard let id else { return [] }
            _ = try await Templates.find(id: id, in: tx)
            return try await Templates.versions(id: id, in: tx)
        }
        return try render(
            staff, id: id, typed: typed, version: expected, shownVersion: nil, versions: versions, preview: preview, errors: errors)
    }

    /// The preview of the form's content, or why there is none.
    private func preview(_ typed: Typed, id: UUID?, staff: Staff, _ context: KringRequestContext) async throws -> Preview {
        for (field, part) in [("onderwerp", typed.content.subject), ("HTML", typed.content.html), ("tekst", typed.content.text)] {
            if let message = MailRenderer.check(part) {
                return Preview(subject: "", html: "", text: "", links: [], message: "De \(field) klopt nog niet: \(message)")
            }
        }
        let library = staff.tenant?.name ?? ""
        let result: Preview? = try await services.inTenant(
            .campaignsWrite, context, record: id ?? UUID(), "template", notFound: TemplateError.notFound
        ) {
            tx, actor, now in
            if let id { _ = try await Templates.find(id: id, in: tx) }
            guard let recipient = try await recipient(typed.recipient, staff: staff, in: tx) else { return nil }
            let mail = try await Templates.render(
                typed.content, recipient: recipient, sendContext: [:], library: library,
                audit: id.map { ["template": $0.lower, "draft": "true"] } ?? ["draft": "true"], by: actor, now: now, in: tx)
            return Preview(subject: mail.subject, html: mail.html, text: mail.text, links: Templates.trackedLinks(in: mail.html), message: "")
        }
        return result
            ?? Preview(
                subject: "", html: "", text: "", links: [],
                message: typed.recipient.trimmingCharacters(in: .whitespaces).isEmpty
                    ? "Vul een lidnummer of e-mailadres in om de mail te zien zoals die persoon hem krijgt."
                    : "Niemand gevonden met dat lidnummer of e-mailadres in deze bibliotheek.")
    }
}
