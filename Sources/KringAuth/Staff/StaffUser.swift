import Foundation
import KringCore
import PostgresNIO

/// A person who logs in to Kring: library staff or a Probiblio administrator.
public struct StaffUser: Sendable, Codable, Equatable {
    public let id: UUID
    public var email: String
    public var displayName: String
    public var disabled: Bool
    public let createdAt: Date

    init(row: PostgresRow) throws {
        let (id, email, displayName, disabledAt, createdAt) = try row.decode((UUID, String, String, Date?, Date).self)
        self.id = id
        self.email = email
        self.displayName = displayName
        self.disabled = disabledAt != nil
        self.createdAt = createdAt
    }
}

/// A user's place in one library: their role there, and whether it is switched off. `user.displayName` is the name
/// this library knows them by and `user.createdAt` when they joined it.
public struct TenantMember: Sendable, Codable, Equatable {
    public let user: StaffUser
    public var role: Role
    public var disabled: Bool

    init(row: PostgresRow) throws {
        let (id, email, displayName, userDisabledAt, createdAt, role, membershipDisabledAt) =
            try row.decode((UUID, String, String, Date?, Date, String, Date?).self)
        guard let role = Role(rawValue: role) else { throw StaffError.corruptRow }
        self.user = StaffUser(id: id, email: email, displayName: displayName, disabled: userDisabledAt != nil, createdAt: createdAt)
        self.role = role
        self.disabled = membershipDisabledAt != nil
    }
}

extension StaffUser {
    init(id: UUID, email: String, displayName: String, disabled: Bool, createdAt: Date) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

public enum StaffError: Error, ProblemConvertible, Equatable {
    case notFound
    case alreadyMember
    case notATenantRole(String)
    case lastAdministrator
    /// The account also works for another library or for Probiblio: only Probiblio may change what they share.
    case sharedAccount
    case invalidSetupToken
    case corruptRow

    public var problem: Problem {
        switch self {
        case .notFound: .notFound("No such user in this library.")
        case .alreadyMember: .conflict("This user is a member of this library already.")
        case .notATenantRole(let role):
            .validation([
                FieldError(
                    field: "role", message: "'\(role)' is not a library role; use one of \(Role.tenantRoles.map(\.rawValue).joined(separator: ", "))."
                )
            ])
        case .lastAdministrator: .conflict("A library keeps at least one active tenant_admin.")
        case .sharedAccount:
            .conflict("This person also works for another library or for Probiblio; ask Probiblio to reset their two-factor sign-in.")
        case .invalidSetupToken: .unauthorized("The set-up link is invalid, used or expired.")
        case .corruptRow: .internalError()
        }
    }
}
