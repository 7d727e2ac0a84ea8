import Foundation
import KringB2B
import KringB2C
import KringCore
import KringDatabase
import PostgresNIO

/// The template store: every save is a new version in `template_versions`; a send renders the version it names.
public enum Templates {
    /// The links a preview shows where a real mail has the recipient's own unsubscribe and preference-centre links.
    public static let previewLinks = [
        "unsubscribe_url": "https://voorbeeld.invalid/afmelden", "preferences_url": "https://voorbeeld.invalid/voorkeuren",
    ]

    public static func create(_ draft: TemplateDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Template {
        let valid = try draft.validate()
        let id = UUID()
        let rows = try await tx.query(
            """
            INSERT INTO templates (id, name, version, subject, html, text_body, created_by, created_at, updated_at)
            VALUES (\(id), \(valid.name), 1, \(valid.subject), \(valid.html), \(valid.text), \(actor.userID), \(now), \(now))
            RETURNING \(unescaped: Template.columns)
            """)
        let template = try await single(rows)
        try await saveVersion(template, in: tx)
        try await TenantAudit.record("template.created", subjectType: "template", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return template
    }

    /// A new version; `expectedVersion` is the one the caller read (a lost update answers 412).
    public static func replace(
        id: UUID, with draft: TemplateDraft, expectedVersion: Int, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> Template {
        let valid = try draft.validate()
        let current = try await find(id: id, forUpdate: true, in: tx)
        guard current.version == expectedVersion else { throw TemplateError.versionMismatch(current: current.version) }
        let rows = try await tx.query(
            """
            UPDATE templates SET name = \(valid.name), subject = \(valid.subject), html = \(valid.html), text_body = \(valid.text),
                version = version + 1, updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: Template.columns)
            """)
        let template = try await single(rows)
        try await saveVersion(template, by: actor, in: tx)
        try await TenantAudit.record(
            "template.updated", subjectType: "template", subjectID: id.uuidString.lowercased(), by: actor,
            details: ["version": String(template.version)], at: now, in: tx)
        return template
    }

    public static func find(id: UUID, forUpdate: Bool = false, in tx: TenantTransaction) async throws -> Template {
        let rows = try await tx.query(
            "SELECT \(unescaped: Template.columns) FROM templates WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")")
        for try await row in rows { return try Template(row: row) }
        throw TemplateError.notFound
    }

    /// An earlier version as it was saved (the name is the current one: versions keep what a mail says).
    public static func find(id: UUID, version: Int, in tx: TenantTransaction) async throws -> Template {
        let rows = try await tx.query(
            """
            SELECT t.id, t.name, v.version, v.subject, v.html, v.text_body, v.created_by, t.created_at, v.created_at
            FROM template_versions v JOIN templates t ON t.id = v.template_id WHERE v.template_id = \(id) AND v.version = \(version)
            """)
        for try await row in rows { return try Template(row: row) }
        throw TemplateError.notFound
    }

    /// Templates by id (keyset: `after` is the last id of the previous page).
    /// Every saved version of a template, newest first: number, who saved it and when.
    public static func versions(id: UUID, in tx: TenantTransaction) async throws -> [(version: Int, createdBy: UUID?, createdAt: Date)] {
        var versions: [(version: Int, createdBy: UUID?, createdAt: Date)] = []
        for try await (version, by, at) in try await tx.query(
            "SELECT version, created_by, created_at FROM template_versions WHERE template_id = \(id) ORDER BY version DESC"
        ).decode((Int, UUID?, Date).self) {
            versions.append((version, by, at))
        }
        return versions
    }

    public static func list(after: UUID?, limit: Int, in tx: TenantTransaction) async throws -> [Template] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Template.columns) FROM templates WHERE \(after == nil) OR id > \(after ?? UUID()) ORDER BY id LIMIT \(limit)
            """)
        var templates: [Template] = []
        for try await row in rows { templates.append(try Template(row: row)) }
        return templates
    }

    /// What a send renders: the named version, or the current one when `version` is nil.
    public static func content(id: UUID, version: Int?, in tx: TenantTransaction) async throws -> (content: TemplateContent, version: Int) {
        let template = if let version { try await find(id: id, version: version, in: tx) } else { try await find(id: id, in: tx) }
        return (template.content, template.version)
    }

    /// Renders a template for one customer of the library, in the library's layout, with placeholder links. Shows
    /// personal data, so the read is audited; a customer who is not in this library (or merged or erased) is
    /// `CustomerError.notFound`.
    public static func preview(
        id: UUID, version: Int?, subject: String?, customerID: UUID, sendContext: [String: String], library: String,
        by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> TemplatePreview {
        try await preview(
            id: id, version: version, subject: subject, recipient: .customer(customerID), sendContext: sendContext, library: library,
            by: actor, now: now, in: tx)
    }

    /// The same for a customer or a business contact. A contact is shown in their role active today (else their
    /// latest), as a B2B campaign would mail them; an unknown contact is `RelationsError.notFound(.contact)`.
    public static func preview(
        id: UUID, version: Int?, subject: String?, recipient: Recipient, sendContext: [String: String], library: String,
        by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> TemplatePreview {
        let (content, version) = try await content(id: id, version: version, in: tx)
        if let subject, let message = MailRenderer.check(subject) { throw TemplateError.invalid([FieldError(field: "subject", message: message)]) }
        let mail = try await render(
            content, subject: subject, recipient: recipient, sendContext: sendContext, library: library,
            audit: ["template": id.uuidString.lowercased(), "version": String(version)], by: actor, now: now, in: tx)
        return TemplatePreview(
            templateID: id, version: version, customerID: recipient.customerID, contactID: recipient.contactID,
            subject: mail.subject, html: mail.html, text: mail.text)
    }

    /// Renders content for one customer or contact of the library, in the library's layout, with placeholder links
    /// (`previewLinks`) and without tracking: the editor's preview of what is not saved yet. Audited as a preview.
    public static func render(
        _ content: TemplateContent, subject: String? = nil, recipient: Recipient, sendContext: [String: String], library: String,
        audit details: [String: String], by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> RenderedMail {
        var sendContext = sendContext
        switch recipient {
        case .customer(let customerID):
            let exists =
                try await tx.query(
                    """
                    SELECT count(*) FROM customers WHERE id = \(customerID) AND merged_into IS NULL AND erased_at IS NULL
                    """
                ).decode(Int.self).reduce(0, +) > 0
            guard exists else { throw CustomerError.notFound }
        case .contact(let contactID):
            let today = CalendarDate(now).description
            let rows = try await tx.query(
                """
                SELECT r.id FROM contacts c LEFT JOIN LATERAL (
                    SELECT id FROM contact_roles WHERE contact_id = c.id
                    ORDER BY (active_from <= \(today)::date AND (active_to IS NULL OR active_to >= \(today)::date)) DESC, active_from DESC, id LIMIT 1
                ) r ON true
                WHERE c.id = \(contactID)
                """
            ).decode(UUID?.self)
            var found: UUID??
            for try await role in rows { found = role }
            guard let role = found else { throw RelationsError.notFound(.contact) }
            if sendContext["contact_role_id"] == nil, let role { sendContext["contact_role_id"] = role.uuidString.lowercased() }
        }
        var context = try await RecipientContexts.load([(recipient, sendContext)], library: library, now: now, in: tx)[0]
        context.links = previewLinks
        let layout = try await MailLayouts.load(in: tx)
        let mail = try MailRenderer(layout: layout).render(content, subject: subject, context: context, tracking: nil)
        let audited = recipient.auditSubject
        try await TenantAudit.record(
            "template.previewed", subjectType: audited.type, subjectID: audited.id, by: actor, details: details, at: now, in: tx)
        return mail
    }

    /// The web links of a rendered mail that a sent mail would route through click tracking: every http(s) link
    /// but the recipient's own (unsubscribe, preferences).
    public static func trackedLinks(in html: String) -> [String] {
        var found: [String] = []
        _ = TrackedLinks.rewriteHTML(html, direct: Set(previewLinks.values)) { url in
            if !found.contains(url) { found.append(url) }
            return url
        }
        return found
    }

    // MARK: Helpers

    static func saveVersion(_ template: Template, by actor: AuditActor? = nil, in tx: TenantTransaction) async throws {
        try await tx.query(
            """
            INSERT INTO template_versions (template_id, version, subject, html, text_body, created_by, created_at)
            VALUES (\(template.id), \(template.version), \(template.subject), \(template.html), \(template.text),
                    \(actor?.userID ?? template.createdBy), \(template.updatedAt))
            """)
    }

    static func single(_ rows: PostgresRowSequence) async throws -> Template {
        for try await row in rows { return try Template(row: row) }
        throw NoRowReturned()
    }
}
