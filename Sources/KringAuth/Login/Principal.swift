import Foundation
import KringCore
import KringDatabase

/// Who is making a request, as established from a verified credential. The tenant comes only from here.
public struct Principal: Sendable {
    public enum Credential: Sendable {
        case staff(userID: UUID, sessionID: UUID)
        case apiKey(APIKey)
    }

    public let credential: Credential
    /// The library this request acts in; nil only for platform administrators.
    public let tenant: Tenant?
    /// The staff role; nil for API keys.
    public let role: Role?
    public let permissions: Set<Permission>

    public var userID: UUID? {
        if case .staff(let userID, _) = credential { return userID }
        return nil
    }

    public var apiKeyID: String? {
        if case .apiKey(let key) = credential { return key.id }
        return nil
    }

    public var sessionID: UUID? {
        if case .staff(_, let sessionID) = credential { return sessionID }
        return nil
    }

    public func allows(_ permission: Permission) -> Bool { permissions.contains(permission) }
}
