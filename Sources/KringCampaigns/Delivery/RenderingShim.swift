import Foundation
import KringDatabase
import PostgresNIO

// Stand-in for the Mustache renderer until the templates module lands; same public shape.
public struct TemplateContent: Sendable, Hashable {
    public var subject: String
    public var html: String
    public var text: String
    public init(subject: String, html: String, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}

public struct MailLayout: Sendable, Hashable {
    public var html: String
    public var text: String
    public init(html: String, text: String) {
        self.html = html
        self.text = text
    }
    public static let standard = MailLayout(html: "{{{content}}}", text: "{{{content}}}")
}

public struct RenderedMail: Sendable {
    public let subject: String
    public let html: String
    public let text: String
}

public struct LinkTracking: Sendable {
    public let rewrite: @Sendable (String) -> String
    public let openPixelURL: String?
    public init(rewrite: @escaping @Sendable (String) -> String, openPixelURL: String?) {
        self.rewrite = rewrite
        self.openPixelURL = openPixelURL
    }
}

public struct RecipientContext: Sendable {
    public var values: [String: String]
    public var links: [String: String] = [:]
}

public final class MailRenderer: Sendable {
    let layout: MailLayout
    public init(layout: MailLayout) { self.layout = layout }

    public func render(_ content: TemplateContent, subject: String? = nil, context: RecipientContext, tracking: LinkTracking?) throws -> RenderedMail {
        func fill(_ text: String) -> String {
            context.values.merging(context.links) { $1 }.reduce(text) {
                $0.replacingOccurrences(of: "{{\($1.key)}}", with: $1.value).replacingOccurrences(of: "{{{\($1.key)}}}", with: $1.value)
            }
        }
        return RenderedMail(subject: fill(subject ?? content.subject), html: fill(content.html), text: fill(content.text))
    }
}

public enum RecipientContexts {
    public static func load(_ recipients: [(customerID: UUID, sendContext: [String: String])], library: String, now: Date,
                            in tx: TenantTransaction) async throws -> [RecipientContext] {
        var names: [UUID: String] = [:]
        let rows = try await tx.query("SELECT id, coalesce(first_name, '') FROM customers WHERE id = ANY(\(recipients.map(\.customerID)))")
        for try await (id, name) in rows.decode((UUID, String).self) { names[id] = name }
        return recipients.map { recipient in
            var values = recipient.sendContext
            values["customer.first_name"] = names[recipient.customerID] ?? ""
            values["library.name"] = library
            return RecipientContext(values: values)
        }
    }
}

public enum MailLayouts {
    public static func load(in tx: TenantTransaction) async throws -> MailLayout { .standard }
}

public enum Templates {
    public static func content(id: UUID, version: Int?, in tx: TenantTransaction) async throws -> (content: TemplateContent, version: Int) {
        let rows = try await tx.query("SELECT subject, html, text_body, version FROM templates WHERE id = \(id)")
        for try await (subject, html, text, version) in rows.decode((String, String, String, Int).self) {
            return (TemplateContent(subject: subject, html: html, text: text), version)
        }
        throw CampaignError.notFound
    }
}
