import KringCore

/// What can go wrong with business relations; the server presents it as `application/problem+json`.
public enum RelationsError: Error, ProblemConvertible, Equatable {
    /// The kinds of record a relations route names, for messages and audit rows.
    public enum Subject: String, Sendable {
        case organisation
        case organisationType = "organisation_type"
        case contact
        case contactRole = "contact_role"
        case interaction, task, order, agreement
    }

    case invalid([FieldError])
    case notFound(Subject)
    case conflict(String)
    case versionMismatch(current: Int)
    /// An import file that cannot be read as a whole: nothing was changed.
    case unreadableFile(String)

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .notFound(let subject): .notFound("No such \(subject.rawValue.replacingOccurrences(of: "_", with: " ")) in this library.")
        case .conflict(let detail): .conflict(detail)
        case .unreadableFile(let reason):
            .validation([FieldError(field: "file", message: reason)], detail: "The file cannot be imported; nothing was changed.")
        case .versionMismatch(let current):
            Problem(
                status: 412, type: "https://kring.nl/problems/version-mismatch", title: "Changed by someone else",
                detail: "The record was changed since you read it (now version \(current)). Reload and apply your change again.")
        }
    }
}
