import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A library branch (vestiging): a customer's favourite branch, an activity's place.
public struct Branch: Sendable, Codable, Equatable {
    public let id: UUID
    public let name: String
    public let municipality: String
    public let street: String?
    public let houseNumber: String?
    public let postcode: String?
    public let city: String?

    static let columns = "id, name, municipality, street, house_number, postcode, city"

    init(row: PostgresRow) throws {
        (id, name, municipality, street, houseNumber, postcode, city) = try row.decode(
            (UUID, String, String, String?, String?, String?, String?).self)
    }
}

public struct BranchDraft: Sendable, Decodable {
    public var name: String
    public var municipality: String
    public var street: String?
    public var houseNumber: String?
    public var postcode: String?
    public var city: String?

    enum CodingKeys: String, CodingKey {
        case name, municipality, street
        case houseNumber = "house_number"
        case postcode, city
    }

    public init(name: String, municipality: String, street: String? = nil, houseNumber: String? = nil, postcode: String? = nil, city: String? = nil) {
        self.name = name
        self.municipality = municipality
        self.street = street
        self.houseNumber = houseNumber
        self.postcode = postcode
        self.city = city
    }
}

public enum BranchError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case duplicateName

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .duplicateName: .validation([FieldError(field: "name", message: "This library has a branch with this name already.")])
        }
    }
}

public enum Branches {
    public static func create(_ draft: BranchDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Branch {
        var errors: [FieldError] = []
        let name = draft.name.trimmingCharacters(in: .whitespaces)
        if name.isEmpty || name.count > 120 { errors.append(FieldError(field: "name", message: "Give a name of 1 to 120 characters.")) }
        let municipality = draft.municipality.trimmingCharacters(in: .whitespaces)
        if municipality.isEmpty || municipality.count > 100 { errors.append(FieldError(field: "municipality", message: "Give the municipality.")) }
        var postcode: String?
        if let raw = draft.postcode, !raw.trimmingCharacters(in: .whitespaces).isEmpty {
            postcode = Postcode(raw)?.value
            if postcode == nil { errors.append(FieldError(field: "postcode", message: "Not a Dutch postcode; use 1234 AB.")) }
        }
        guard errors.isEmpty else { throw BranchError.invalid(errors) }
        // ON CONFLICT rather than catching 23505: a unique violation aborts the transaction, and it surfaces only when
        // the rows are read. No row back means the name is taken, also by a concurrent create.
        let rows = try await tx.query(
            """
            INSERT INTO branches (id, name, municipality, street, house_number, postcode, city, created_at)
            VALUES (\(UUID()), \(name), \(municipality), \(draft.street), \(draft.houseNumber), \(postcode), \(draft.city), \(now))
            ON CONFLICT (name) DO NOTHING
            RETURNING \(unescaped: Branch.columns)
            """)
        for try await row in rows {
            let branch = try Branch(row: row)
            try await TenantAudit.record(
                "branch.created", subjectType: "branch", subjectID: branch.id.uuidString.lowercased(), by: actor, at: now, in: tx)
            return branch
        }
        throw BranchError.duplicateName
    }

    public static func list(in tx: TenantTransaction) async throws -> [Branch] {
        let rows = try await tx.query("SELECT \(unescaped: Branch.columns) FROM branches ORDER BY name")
        var branches: [Branch] = []
        for try await row in rows { branches.append(try Branch(row: row)) }
        return branches
    }
}
