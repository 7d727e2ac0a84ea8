import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A saved mail template. Every change is a new version; a campaign names the version it sends.
public struct Template: Sendable, Codable, Equatable {
    public let id: UUID
    public let name: String
    public let version: Int
    public let subject: String
    public let html: String
    public let text: String
    public let createdBy: UUID?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = "id, name, version, subject, html, text_body, created_by, created_at, updated_at"

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        name = try c[1].decode(String.self)
        version = try c[2].decode(Int.self)
        subject = try c[3].decode(String.self)
        html = try c[4].decode(String.self)
        text = try c[5].decode(String.self)
        createdBy = try c[6].decode(UUID?.self)
        createdAt = try c[7].decode(Date.self)
        updatedAt = try c[8].decode(Date.self)
    }

    public var content: TemplateContent {
        TemplateContent(subject: subject, html: html, text: text)
    }
}

/// A template to save: `{"name", "subject", "html", "text"}`; on a replace also `version`, the version it changes.
public struct TemplateDraft: Sendable, Decodable {
    public var name: String
    public var subject: String
    public var html: String
    public var text: String
    public var version: Int?

    /// Parts larger than this are refused (a mail of several hundred kilobytes is clipped by most mail readers).
    static let maxPartLength = 200_000

    public init(name: String, subject: String, html: String, text: String, version: Int? = nil) {
        self.name = name
        self.subject = subject
        self.html = html
        self.text = text
        self.version = version
    }

    /// Checks the lengths and parses subject, HTML and text, so a template that cannot render is never saved.
    public func validate() throws -> TemplateDraft {
        var errors: [FieldError] = []
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 200 characters.")) }
        let subject = subject.trimmingCharacters(in: .whitespacesAndNewlines)
        if subject.isEmpty || subject.count > 500 { errors.append(FieldError(field: "subject", message: "Give a subject of 1 to 500 characters.")) }
        for (field, part) in [("html", html), ("text", text)]
        where part.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || part.utf8.count > Self.maxPartLength {
            errors.append(FieldError(field: field, message: "Give a \(field) part of 1 to \(Self.maxPartLength) bytes."))
        }
        for (field, part) in [("subject", subject), ("html", html), ("text", text)] where !errors.contains(where: { $0.field == field }) {
            if let message = MailRenderer.check(part) { errors.append(FieldError(field: field, message: message)) }
        }
        guard errors.isEmpty else { throw TemplateError.invalid(errors) }
        return TemplateDraft(name: name, subject: subject, html: html, text: text, version: version)
    }
}

/// A template rendered for one customer, as the preview shows it.
public struct TemplatePreview: Sendable, Codable, Equatable {
    public let templateID: UUID
    public let version: Int
    /// The customer, or for a mail to a business contact the contact, it was rendered for.
    public let customerID: UUID?
    public let contactID: UUID?
    public let subject: String
    public let html: String
    public let text: String
}

public enum TemplateError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case versionMismatch(current: Int)
    case versionRequired

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors, detail: "The template has invalid fields or does not parse.")
        case .notFound: .notFound("No such template in this library.")
        case .versionMismatch(let current):
            Problem(
                status: 412, type: "https://kring.nl/problems/version-mismatch", title: "Changed by someone else",
                detail: "The template was changed since you read it (now version \(current)). Reload and apply your change again.")
        case .versionRequired:
            Problem(
                status: 428, type: "https://kring.nl/problems/version-required", title: "Version required",
                detail: "Send If-Match (or version in the body) with the version you read, so a concurrent change is not overwritten.")
        }
    }
}
