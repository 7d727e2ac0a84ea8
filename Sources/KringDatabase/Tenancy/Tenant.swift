import Foundation
import KringCore
import PostgresNIO

/// A library on the platform: its own schema `t_<slug>` reached only through its role `kring_t_<slug>`.
public struct Tenant: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        case active
        case suspended
    }

    public let id: UUID
    public let slug: TenantSlug
    public var name: String
    public var status: Status
    public let createdAt: Date

    public init(id: UUID, slug: TenantSlug, name: String, status: Status, createdAt: Date) {
        self.id = id
        self.slug = slug
        self.name = name
        self.status = status
        self.createdAt = createdAt
    }

    /// Columns in the order `init(row:)` reads them.
    public static let columns = "id, slug, name, status, created_at"

    public init(row: PostgresRow) throws {
        let (id, slug, name, status, createdAt) = try row.decode((UUID, String, String, String, Date).self)
        guard let slug = TenantSlug(slug), let status = Status(rawValue: status) else {
            throw TenantError.corruptRow(id)
        }
        self.init(id: id, slug: slug, name: name, status: status, createdAt: createdAt)
    }
}

public enum TenantError: Error, ProblemConvertible, Equatable {
    case invalidSlug(String)
    case duplicateSlug(String)
    case notFound(String)
    case corruptRow(UUID)

    public var problem: Problem {
        switch self {
        case .invalidSlug:
            .validation([FieldError(field: "slug", message: "Use 2 to 39 lowercase letters, digits or '-', starting with a letter.")])
        case .duplicateSlug(let slug):
            .conflict("A tenant with slug '\(slug)' exists already.")
        case .notFound:
            .notFound("No such tenant.")
        case .corruptRow:
            .internalError()
        }
    }
}
