/// A field-level validation error: which input field, and what is wrong with it.
public struct FieldError: Sendable, Codable, Hashable {
    /// JSON path of the field, e.g. `email` or `address.postcode`.
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// An error that knows how to present itself as `application/problem+json` (RFC 9457).
///
/// Feature modules conform their error enums to this; the server maps them without knowing the features.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

/// The RFC 9457 problem document.
public struct Problem: Error, Sendable, Codable, Equatable, ProblemConvertible {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var errors: [FieldError]?
    /// Seconds a client should wait before retrying (sent as `Retry-After`, not in the body).
    public var retryAfter: Int?

    public init(status: Int, type: String, title: String, detail: String? = nil, errors: [FieldError]? = nil, retryAfter: Int? = nil) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
        self.retryAfter = retryAfter
    }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, errors }

    public var problem: Problem { self }

    private static let base = "https://kring.nl/problems/"

    public static func validation(_ errors: [FieldError], detail: String = "The request has invalid fields.") -> Problem {
        Problem(status: 422, type: base + "validation", title: "Invalid input", detail: detail, errors: errors)
    }
    public static func badRequest(_ detail: String, errors: [FieldError]? = nil) -> Problem {
        Problem(status: 400, type: base + "bad-request", title: "Bad request", detail: detail, errors: errors)
    }
    public static func unauthorized(_ detail: String = "Authentication is required.") -> Problem {
        Problem(status: 401, type: base + "unauthorized", title: "Unauthorized", detail: detail)
    }
    public static func forbidden(_ detail: String = "Your role does not allow this.") -> Problem {
        Problem(status: 403, type: base + "forbidden", title: "Forbidden", detail: detail)
    }
    public static func notFound(_ detail: String = "No such resource.") -> Problem {
        Problem(status: 404, type: base + "not-found", title: "Not found", detail: detail)
    }
    public static func conflict(_ detail: String) -> Problem {
        Problem(status: 409, type: base + "conflict", title: "Conflict", detail: detail)
    }
    public static func tooLarge(_ detail: String) -> Problem {
        Problem(status: 413, type: base + "too-large", title: "Request body too large", detail: detail)
    }
    public static func tooManyRequests(retryAfter: Int) -> Problem {
        Problem(
            status: 429, type: base + "too-many-requests", title: "Too many requests",
            detail: "Too many attempts. Try again later.", retryAfter: retryAfter)
    }
    public static func unavailable(_ detail: String) -> Problem {
        Problem(status: 503, type: base + "unavailable", title: "Service unavailable", detail: detail)
    }
    public static func internalError() -> Problem {
        Problem(
            status: 500, type: base + "internal", title: "Internal server error",
            detail: "Something went wrong on our side. It has been logged.")
    }
}
