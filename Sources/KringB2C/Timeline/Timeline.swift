import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// An entry in a customer's timeline: a contact moment by staff or an event written by Kring.
public struct ContactMoment: Sendable, Codable, Equatable {
    public enum Channel: String, Sendable, Codable, CaseIterable { case desk, phone, email, web, letter, event }
    public enum Direction: String, Sendable, Codable, CaseIterable { case inbound, outbound }

    public let id: UUID
    public let customerID: UUID
    public let kind: String
    public let channel: Channel?
    public let direction: Direction?
    public let event: String?
    public let subject: String?
    public let body: String?
    public let staffUserID: UUID?
    public let occurredAt: Date

    static let columns = "id, customer_id, kind, channel, direction, event, subject, body, staff_user_id, occurred_at"

    init(row: PostgresRow) throws {
        let (id, customerID, kind, channel, direction, event, subject, body, staff, occurredAt) =
            try row.decode((UUID, UUID, String, String?, String?, String?, String?, String?, UUID?, Date).self)
        self.id = id
        self.customerID = customerID
        self.kind = kind
        self.channel = try channel.map { try UnreadableColumn.enumValue(Channel.self, $0, column: "channel") }
        self.direction = try direction.map { try UnreadableColumn.enumValue(Direction.self, $0, column: "direction") }
        self.event = event
        self.subject = subject
        self.body = body
        self.staffUserID = staff
        self.occurredAt = occurredAt
    }
}

/// What staff send to log a contact moment.
public struct ContactMomentDraft: Sendable, Decodable {
    public var channel: String
    public var direction: String
    public var subject: String
    public var body: String?
    public var occurredAt: Date?

    enum CodingKeys: String, CodingKey {
        case channel, direction, subject, body
        case occurredAt = "occurred_at"
    }

    public init(channel: String, direction: String, subject: String, body: String? = nil, occurredAt: Date? = nil) {
        self.channel = channel
        self.direction = direction
        self.subject = subject
        self.body = body
        self.occurredAt = occurredAt
    }

    func validate(now: Date) throws(CustomerError) -> (ContactMoment.Channel, ContactMoment.Direction, String, String?, Date) {
        var errors: [FieldError] = []
        let channel = ContactMoment.Channel(rawValue: channel)
        if channel == nil {
            errors.append(
                FieldError(field: "channel", message: "Use one of \(ContactMoment.Channel.allCases.map(\.rawValue).joined(separator: ", "))."))
        }
        let direction = ContactMoment.Direction(rawValue: direction)
        if direction == nil { errors.append(FieldError(field: "direction", message: "Use inbound or outbound.")) }
        let subject = subject.trimmingCharacters(in: .whitespacesAndNewlines)
        if subject.isEmpty || subject.count > 200 { errors.append(FieldError(field: "subject", message: "Give a subject of 1 to 200 characters.")) }
        if let body, body.count > 20_000 { errors.append(FieldError(field: "body", message: "Use at most 20000 characters.")) }
        let occurred = occurredAt ?? now
        if occurred > now.addingTimeInterval(300) { errors.append(FieldError(field: "occurred_at", message: "Cannot lie in the future.")) }
        guard errors.isEmpty, let channel, let direction else { throw .invalid(errors) }
        return (channel, direction, subject, body, occurred)
    }
}

public enum Timeline {
    public static func add(
        _ draft: ContactMomentDraft, customerID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> ContactMoment {
        let (channel, direction, subject, body, occurred) = try draft.validate(now: now)
        let customer = try await Customers.require(id: customerID, forUpdate: false, in: tx)
        if customer.erasedAt != nil { throw CustomerError.erased }
        let rows = try await tx.query(
            """
            INSERT INTO contact_moments (id, customer_id, kind, channel, direction, subject, body, staff_user_id, occurred_at, created_at)
            VALUES (\(UUID()), \(customerID), 'contact', \(channel.rawValue), \(direction.rawValue), \(subject), \(body), \(actor.userID), \(occurred), \(now))
            RETURNING \(unescaped: ContactMoment.columns)
            """)
        for try await row in rows {
            let moment = try ContactMoment(row: row)
            try await TenantAudit.record(
                "contact_moment.created", subjectType: "customer", subjectID: customerID.uuidString.lowercased(),
                by: actor, details: ["contact_moment": moment.id.uuidString.lowercased()], at: now, in: tx)
            return moment
        }
        throw NoRowReturned()
    }

    /// A customer's timeline, newest first, keyset-paginated on (occurred_at, id).
    public static func list(
        customerID: UUID, before: (Date, UUID)?, limit: Int, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> [ContactMoment] {
        _ = try await Customers.require(id: customerID, forUpdate: false, in: tx)
        let rows = try await tx.query(
            """
            SELECT \(unescaped: ContactMoment.columns) FROM contact_moments
            WHERE customer_id = \(customerID)
              AND (\(before?.0)::timestamptz IS NULL OR (occurred_at, id) < (\(before?.0), \(before?.1)))
            ORDER BY occurred_at DESC, id DESC
            LIMIT \(limit)
            """)
        var moments: [ContactMoment] = []
        for try await row in rows { moments.append(try ContactMoment(row: row)) }
        try await TenantAudit.record(
            "customer.timeline_read", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: actor, at: now, in: tx)
        return moments
    }

    /// Records what Kring did (a change, a merge, a consent); other modules write their events here too.
    public static func recordSystemEvent(
        _ event: String, customerID: UUID, actor: AuditActor, subject: String? = nil, at time: Date, in tx: TenantTransaction
    ) async throws {
        try await tx.query(
            """
            INSERT INTO contact_moments (id, customer_id, kind, event, subject, staff_user_id, occurred_at, created_at)
            VALUES (\(UUID()), \(customerID), 'system', \(event), \(subject), \(actor.userID), \(time), \(time))
            """)
    }
}
