import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A complaint by a customer, with an owner and a due date.
public struct Complaint: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case new
        case inProgress = "in_progress"
        case resolved
    }

    public let id: UUID
    public let customerID: UUID?
    public let channel: String
    public let category: String
    public let description: String?
    public let status: Status
    public let ownerUserID: UUID?
    public let resolution: String?
    public let dueAt: Date
    public let createdAt: Date
    public let resolvedAt: Date?

    static let columns = "id, customer_id, channel, category, description, status, owner_user_id, resolution, due_at, created_at, resolved_at"

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        customerID = try c[1].decode(UUID?.self)
        channel = try c[2].decode(String.self)
        category = try c[3].decode(String.self)
        description = try c[4].decode(String?.self)
        status = try c[5].decodeEnum(Status.self)
        ownerUserID = try c[6].decode(UUID?.self)
        resolution = try c[7].decode(String?.self)
        dueAt = try c[8].decode(Date.self)
        createdAt = try c[9].decode(Date.self)
        resolvedAt = try c[10].decode(Date?.self)
    }
}

public struct ComplaintDraft: Sendable, Decodable {
    public var customerID: UUID?
    public var channel: String
    public var category: String
    public var description: String

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case channel, category, description
    }

    public init(customerID: UUID?, channel: String, category: String, description: String) {
        self.customerID = customerID
        self.channel = channel
        self.category = category
        self.description = description
    }
}

public struct ComplaintChange: Sendable, Decodable {
    public var status: String?
    public var ownerUserID: UUID?
    public var resolution: String?

    enum CodingKeys: String, CodingKey {
        case status
        case ownerUserID = "owner_user_id"
        case resolution
    }

    public init(status: String? = nil, ownerUserID: UUID? = nil, resolution: String? = nil) {
        self.status = status
        self.ownerUserID = ownerUserID
        self.resolution = resolution
    }
}

public enum ComplaintError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .notFound: .notFound("No such complaint in this library.")
        }
    }
}

public enum Complaints {
    /// Days a library gives itself to resolve a complaint, unless it sets its own service level.
    /// Takes in a complaint, due after the library's `complaint_due_days` (see `TenantSettings`).
    public static func create(_ draft: ComplaintDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Complaint {
        var errors: [FieldError] = []
        if ContactMoment.Channel(rawValue: draft.channel) == nil {
            errors.append(
                FieldError(field: "channel", message: "Use one of \(ContactMoment.Channel.allCases.map(\.rawValue).joined(separator: ", "))."))
        }
        let category = draft.category.trimmingCharacters(in: .whitespaces).lowercased()
        if category.isEmpty || category.count > 50 { errors.append(FieldError(field: "category", message: "Give a category of 1 to 50 characters.")) }
        let description = draft.description.trimmingCharacters(in: .whitespacesAndNewlines)
        if description.isEmpty || description.count > 20_000 {
            errors.append(FieldError(field: "description", message: "Describe the complaint (at most 20000 characters)."))
        }
        guard errors.isEmpty else { throw ComplaintError.invalid(errors) }
        if let customerID = draft.customerID {
            let customer = try await Customers.require(id: customerID, forUpdate: false, in: tx)
            if customer.erasedAt != nil { throw CustomerError.erased }
        }
        let dueDays = try await TenantSettings.load(in: tx).complaintDueDays
        let rows = try await tx.query(
            """
            INSERT INTO complaints (id, customer_id, channel, category, description, status, owner_user_id, due_at, created_at, updated_at)
            VALUES (\(UUID()), \(draft.customerID), \(draft.channel), \(category), \(description), 'new', \(actor.userID),
                    \(now.addingTimeInterval(TimeInterval(dueDays) * 86400)), \(now), \(now))
            RETURNING \(unescaped: Complaint.columns)
            """)
        for try await row in rows {
            let complaint = try Complaint(row: row)
            try await TenantAudit.record(
                "complaint.created", subjectType: "complaint", subjectID: complaint.id.uuidString.lowercased(), by: actor, at: now, in: tx)
            if let customerID = draft.customerID {
                try await Timeline.recordSystemEvent("complaint.created", customerID: customerID, actor: actor, subject: category, at: now, in: tx)
            }
            return complaint
        }
        throw NoRowReturned()
    }

    public static func update(
        id: UUID, _ change: ComplaintChange, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Complaint {
        var errors: [FieldError] = []
        let status = try change.status.map { raw in
            guard let status = Complaint.Status(rawValue: raw) else {
                throw ComplaintError.invalid([FieldError(field: "status", message: "Use new, in_progress or resolved.")])
            }
            return status
        }
        if status == .resolved && (change.resolution?.trimmingCharacters(in: .whitespaces).isEmpty ?? true) {
            errors.append(FieldError(field: "resolution", message: "Say how the complaint was resolved."))
        }
        guard errors.isEmpty else { throw ComplaintError.invalid(errors) }
        let rows = try await tx.query(
            """
            UPDATE complaints SET
                status = coalesce(\(status?.rawValue), status), owner_user_id = coalesce(\(change.ownerUserID), owner_user_id),
                resolution = coalesce(\(change.resolution), resolution),
                resolved_at = CASE WHEN \(status?.rawValue) = 'resolved' THEN \(now) WHEN \(status?.rawValue)::text IS NOT NULL THEN NULL ELSE resolved_at END,
                updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: Complaint.columns)
            """)
        for try await row in rows {
            let complaint = try Complaint(row: row)
            try await TenantAudit.record(
                "complaint.updated", subjectType: "complaint", subjectID: id.uuidString.lowercased(), by: actor,
                details: ["status": complaint.status.rawValue], at: now, in: tx)
            return complaint
        }
        throw ComplaintError.notFound
    }

    /// One complaint, or nil when this library has none with this id.
    public static func find(_ id: UUID, in tx: TenantTransaction) async throws -> Complaint? {
        for try await row in try await tx.query("SELECT \(unescaped: Complaint.columns) FROM complaints WHERE id = \(id)") {
            return try Complaint(row: row)
        }
        return nil
    }

    /// Complaints in due order; `openOnly` leaves resolved ones out. Keyset on (due_at, id).
    public static func list(
        openOnly: Bool, customerID: UUID? = nil, after: (Date, UUID)?, limit: Int, in tx: TenantTransaction
    ) async throws -> [Complaint] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Complaint.columns) FROM complaints
            WHERE (NOT \(openOnly) OR status <> 'resolved')
              AND (\(customerID)::uuid IS NULL OR customer_id = \(customerID))
              AND (\(after?.0)::timestamptz IS NULL OR (due_at, id) > (\(after?.0), \(after?.1)))
            ORDER BY due_at, id LIMIT \(limit)
            """)
        var complaints: [Complaint] = []
        for try await row in rows { complaints.append(try Complaint(row: row)) }
        return complaints
    }
}
