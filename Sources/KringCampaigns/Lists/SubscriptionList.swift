import Crypto
import Foundation
import KringCore
import PostgresNIO

/// A subscription list (a newsletter, "activities for children"). Subscribing is a consent statement on the topic
/// `list:<key>`; a list campaign reaches only customers whose latest statement on it is `confirmed`.
public struct SubscriptionList: Sendable, Codable, Equatable {
    public let id: UUID
    public let key: String
    public let name: String
    public let description: String?
    public let consentText: String
    /// Changes with the consent text; a subscriber's statement names the version they agreed to.
    public let consentVersion: String
    /// Offered on the public sign-up form and in the preference centre.
    public let `public`: Bool
    public let archivedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date

    /// The consent topic of the list.
    public var topic: String { Self.topic(key: key) }

    public static func topic(key: String) -> String { "list:\(key)" }

    /// The version of a consent text: a short hash, so the same text always has the same version.
    public static func consentVersion(of text: String) -> String {
        "sha256:" + SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    static let columns = "id, key, name, description, consent_text, consent_version, public, archived_at, created_at, updated_at"

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        key = try c[1].decode(String.self)
        name = try c[2].decode(String.self)
        description = try c[3].decode(String?.self)
        consentText = try c[4].decode(String.self)
        consentVersion = try c[5].decode(String.self)
        `public` = try c[6].decode(Bool.self)
        archivedAt = try c[7].decode(Date?.self)
        createdAt = try c[8].decode(Date.self)
        updatedAt = try c[9].decode(Date.self)
    }
}

/// A list to create (`key` required) or to change (`key` must be absent or the same; it is the consent topic).
public struct SubscriptionListDraft: Sendable, Decodable {
    public var key: String?
    public var name: String
    public var description: String?
    public var consentText: String
    public var `public`: Bool?
    public var archived: Bool?

    enum CodingKeys: String, CodingKey {
        case key, name, description
        case consentText = "consent_text"
        case `public`, archived
    }

    public init(key: String? = nil, name: String, description: String? = nil, consentText: String, public: Bool? = nil, archived: Bool? = nil) {
        self.key = key
        self.name = name
        self.description = description
        self.consentText = consentText
        self.public = `public`
        self.archived = archived
    }

    /// Trimmed values, or every field error at once.
    func validated(requireKey: Bool) throws(ListError) -> SubscriptionListDraft {
        var errors: [FieldError] = []
        let key = key?.trimmed().lowercased()
        if let key {
            if key.range(of: "^[a-z0-9][a-z0-9._-]{0,59}$", options: .regularExpression) == nil {
                errors.append(FieldError(field: "key", message: "Use 1 to 60 lowercase letters, digits and . _ - (e.g. nieuwsbrief)."))
            }
        } else if requireKey {
            errors.append(FieldError(field: "key", message: "Give the list a key (e.g. nieuwsbrief)."))
        }
        let name = name.trimmed()
        if name.isEmpty || name.count > 200 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 200 characters.")) }
        let description = description?.trimmed()
        if let description, description.count > 2000 { errors.append(FieldError(field: "description", message: "Use at most 2000 characters.")) }
        let consentText = consentText.trimmed()
        if consentText.isEmpty || consentText.count > 5000 {
            errors.append(FieldError(field: "consent_text", message: "Give the text subscribers agree to, 1 to 5000 characters."))
        }
        guard errors.isEmpty else { throw .invalid(errors) }
        return SubscriptionListDraft(
            key: key, name: name, description: description?.isEmpty == true ? nil : description,
            consentText: consentText, public: `public`, archived: archived)
    }
}

/// How many customers stand where on a list now (their latest statement); counts only, never whom.
public struct SubscriberCounts: Sendable, Codable, Equatable {
    public let listID: UUID
    /// Signed up, not yet confirmed.
    public var pending = 0
    public var confirmed = 0
    public var withdrawn = 0
}

public enum ListError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case keyChanged
    case duplicateKey
    /// Sign-up for lists that do not exist or are not offered publicly.
    case unknownLists([String])

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors, detail: "The list has invalid fields.")
        case .notFound: .notFound("No such list in this library.")
        case .keyChanged: .validation([FieldError(field: "key", message: "A list's key is its consent topic and cannot change.")])
        case .duplicateKey: .conflict("Another list has this key.")
        case .unknownLists(let keys):
            .validation(keys.map { FieldError(field: "lists", message: "'\($0)' is not a list you can sign up for.") }, detail: "Unknown lists.")
        }
    }
}
