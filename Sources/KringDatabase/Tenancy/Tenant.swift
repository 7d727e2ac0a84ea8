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
        try self.init(row.makeRandomAccess(), from: 0)
    }

    /// Reads `columns` from a row that has them from column `first` on, after columns of its own.
    public init(_ cells: PostgresRandomAccessRow, from first: Int) throws {
        let id = try cells[first].decode(UUID.self)
        guard let slug = TenantSlug(try cells[first + 1].decode(String.self)),
            let status = Status(rawValue: try cells[first + 3].decode(String.self))
        else {
            throw TenantError.corruptRow(id)
        }
        self.init(
            id: id, slug: slug, name: try cells[first + 2].decode(String.self), status: status, createdAt: try cells[first + 4].decode(Date.self))
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
