import KringCore

/// Why a message could not be built or a transport could not be configured.
///
/// Delivery outcomes are not errors: they are `DeliveryResult`s, so a caller can retry or record them.
public enum MailError: Error, Sendable, Equatable, ProblemConvertible {
    /// A header name or value holds CR or LF (header injection) or another character a header cannot carry.
    case invalidHeader(name: String)
    /// An address is not a plain `local@domain` address.
    case invalidAddress(String)
    case invalidUnsubscribeURL
    case invalidConfiguration(String)

    public var problem: Problem {
        switch self {
        case .invalidHeader(let name):
            .validation([FieldError(field: name.lowercased(), message: "A header cannot contain line breaks or control characters.")])
        case .invalidAddress:
            .validation([FieldError(field: "address", message: "Use a plain e-mail address (local@domain).")])
        case .invalidUnsubscribeURL:
            .validation([FieldError(field: "list_unsubscribe", message: "Use an absolute https URL.")])
        case .invalidConfiguration(let detail):
            .badRequest(detail)
        }
    }
}
