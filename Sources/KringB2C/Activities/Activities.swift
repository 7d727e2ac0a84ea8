import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A library activity: a reading hour, a workshop, a lecture.
public struct Activity: Sendable, Codable, Equatable {
    public let id: UUID
    public let title: String
    public let category: String
    public let targetGroup: String?
    public let branchID: UUID?
    public let startsAt: Date
    public let endsAt: Date
    public let capacity: Int?
    public let priceCents: Int
    /// Registrations that hold a place (booked, attended, or marked no-show at the door: that place went unused, it was not freed).
    public let placesTaken: Int

    static let columns = """
        a.id, a.title, a.category, a.target_group, a.branch_id, a.starts_at, a.ends_at, a.capacity, a.price_cents,
        (SELECT count(*) FROM registrations r WHERE r.activity_id = a.id AND r.status IN ('booked', 'attended', 'no_show'))::int
        """

    init(row: PostgresRow) throws {
        (id, title, category, targetGroup, branchID, startsAt, endsAt, capacity, priceCents, placesTaken) =
            try row.decode((UUID, String, String, String?, UUID?, Date, Date, Int?, Int, Int).self)
    }
}

public struct ActivityDraft: Sendable, Decodable {
    public var title: String
    public var category: String
    public var targetGroup: String?
    public var branchID: UUID?
    public var startsAt: Date
    public var endsAt: Date
    public var capacity: Int?
    public var priceCents: Int?

    enum CodingKeys: String, CodingKey {
        case title, category
        case targetGroup = "target_group"
        case branchID = "branch_id"
        case startsAt = "starts_at"
        case endsAt = "ends_at"
        case capacity
        case priceCents = "price_cents"
    }

    public init(
        title: String, category: String, startsAt: Date, endsAt: Date, capacity: Int? = nil, priceCents: Int? = nil,
        branchID: UUID? = nil, targetGroup: String? = nil
    ) {
        self.title = title
        self.category = category
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.capacity = capacity
        self.priceCents = priceCents
        self.branchID = branchID
        self.targetGroup = targetGroup
    }
}

/// A customer's place at an activity.
public struct Registration: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case booked, attended
        case noShow = "no_show"
        case cancelled, waitlisted
    }
    public enum Source: String, Sendable, Codable, CaseIterable { case staff, ticketing, web }

    public let id: UUID
    public let activityID: UUID
    public let customerID: UUID
    public let status: Status
    public let pricePaidCents: Int
    public let source: Source
    public let registeredAt: Date

    static let columns = "id, activity_id, customer_id, status, price_paid_cents, source, registered_at"

    init(row: PostgresRow) throws {
        let (id, activityID, customerID, status, paid, source, registeredAt) = try row.decode((UUID, UUID, UUID, String, Int, String, Date).self)
        self.id = id
        self.activityID = activityID
        self.customerID = customerID
        self.status = try UnreadableColumn.enumValue(Status.self, status, column: "status")
        self.pricePaidCents = paid
        self.source = try UnreadableColumn.enumValue(Source.self, source, column: "source")
        self.registeredAt = registeredAt
    }
}

public enum ActivityError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case registrationNotFound
    case alreadyRegistered
    case notAttended
    case alreadyEvaluated

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .notFound: .notFound("No such activity in this library.")
        case .registrationNotFound: .notFound("No such registration in this library.")
        case .alreadyRegistered: .conflict("This customer is registered for this activity already.")
        case .notAttended: .conflict("Only a registration marked attended can be evaluated.")
        case .alreadyEvaluated: .validation([FieldError(field: "score", message: "This registration has an evaluation already.")])
        }
    }
}

public enum Activities {
    public static func create(_ draft: ActivityDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Activity {
        try validate(draft)
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let category = draft.category.trimmingCharacters(in: .whitespaces).lowercased()
        let id = UUID()
        do {
            try await tx.query(
                """
                INSERT INTO activities (id, title, category, target_group, branch_id, starts_at, ends_at, capacity, price_cents, created_at, updated_at)
                VALUES (\(id), \(title), \(category), \(draft.targetGroup), \(draft.branchID), \(draft.startsAt), \(draft.endsAt),
                        \(draft.capacity), \(draft.priceCents ?? 0), \(now), \(now))
                """)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            throw ActivityError.invalid([FieldError(field: "branch_id", message: "No such branch in this library.")])
        }
        try await TenantAudit.record("activity.created", subjectType: "activity", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return try await find(id, in: tx)
    }

    public static func find(_ id: UUID, in tx: TenantTransaction) async throws -> Activity {
        let rows = try await tx.query("SELECT \(unescaped: Activity.columns) FROM activities a WHERE a.id = \(id)")
        for try await row in rows { return try Activity(row: row) }
        throw ActivityError.notFound
    }

    /// Activities starting from `from`, in start order; keyset on (starts_at, id).
    public static func list(from: Date?, after: (Date, UUID)?, limit: Int, in tx: TenantTransaction) async throws -> [Activity] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Activity.columns) FROM activities a
            WHERE (\(from)::timestamptz IS NULL OR a.starts_at >= \(from))
              AND (\(after?.0)::timestamptz IS NULL OR (a.starts_at, a.id) > (\(after?.0), \(after?.1)))
            ORDER BY a.starts_at, a.id LIMIT \(limit)
            """)
        var activities: [Activity] = []
        for try await row in rows { activities.append(try Activity(row: row)) }
        return activities
    }

    /// Registers a customer; past capacity the registration goes on the waiting list. Someone who cancelled may register
    /// again (the same registration, at the back of the queue).
    public static func register(
        customerID: UUID, activityID: UUID, source: Registration.Source, pricePaidCents: Int, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> Registration {
        // Locking the activity serialises bookings, so two last places are never both given away.
        let locked = try await tx.query("SELECT capacity FROM activities WHERE id = \(activityID) FOR UPDATE")
        var capacity: Int?? = .none
        for try await value in locked.decode(Int?.self) { capacity = .some(value) }
        guard case .some(let limit) = capacity else { throw ActivityError.notFound }
        let customer = try await Customers.require(id: customerID, forUpdate: false, in: tx)
        if customer.erasedAt != nil { throw CustomerError.erased }
        if pricePaidCents < 0 { throw ActivityError.invalid([FieldError(field: "price_paid_cents", message: "Cannot be negative.")]) }
        let taken = try await tx.query(
            "SELECT count(*)::int FROM registrations WHERE activity_id = \(activityID) AND status IN ('booked', 'attended', 'no_show')"
        )
        .decode(Int.self).reduce(0, +)
        let status: Registration.Status = limit.map { taken >= $0 } == true ? .waitlisted : .booked
        let rows = try await tx.query(
            """
            INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
            VALUES (\(UUID()), \(activityID), \(customerID), \(status.rawValue), \(pricePaidCents), \(source.rawValue), \(now), \(now))
            ON CONFLICT (activity_id, customer_id) DO UPDATE
                SET status = EXCLUDED.status, price_paid_cents = EXCLUDED.price_paid_cents, source = EXCLUDED.source,
                    registered_at = EXCLUDED.registered_at, updated_at = EXCLUDED.updated_at
                WHERE registrations.status = 'cancelled'
            RETURNING \(unescaped: Registration.columns)
            """)
        for try await row in rows {
            let registration = try Registration(row: row)
            try await TenantAudit.record(
                "registration.created", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: actor,
                details: ["activity": activityID.uuidString.lowercased(), "status": status.rawValue], at: now, in: tx)
            try await Timeline.recordSystemEvent(
                "registration.\(status.rawValue)", customerID: customerID, actor: actor,
                subject: activityID.uuidString.lowercased(), at: now, in: tx)
            return registration
        }
        throw ActivityError.alreadyRegistered
    }

    public static func registrations(activityID: UUID, in tx: TenantTransaction) async throws -> [Registration] {
        _ = try await find(activityID, in: tx)
        let rows = try await tx.query(
            "SELECT \(unescaped: Registration.columns) FROM registrations WHERE activity_id = \(activityID) ORDER BY registered_at, id")
        var registrations: [Registration] = []
        for try await row in rows { registrations.append(try Registration(row: row)) }
        return registrations
    }

    public static func registrations(customerID: UUID, limit: Int, in tx: TenantTransaction) async throws -> [Registration] {
        try await tx.rows(ProfileStatements.Registrations(latest: .init(id: customerID, limit: limit))).map(Registration.init(row:))
    }

    /// Changes a registration's status; a cancelled booking gives its place to the first on the waiting list.
    public static func setStatus(
        registrationID: UUID, to status: Registration.Status, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Registration {
        let current = try await tx.query("SELECT \(unescaped: Registration.columns) FROM registrations WHERE id = \(registrationID) FOR UPDATE")
        var found: Registration?
        for try await row in current { found = try Registration(row: row) }
        guard let before = found else { throw ActivityError.registrationNotFound }
        _ = try await tx.query("SELECT 1 FROM activities WHERE id = \(before.activityID) FOR UPDATE")
        let rows = try await tx.query(
            """
            UPDATE registrations SET status = \(status.rawValue), updated_at = \(now) WHERE id = \(registrationID)
            RETURNING \(unescaped: Registration.columns)
            """)
        var updated: Registration?
        for try await row in rows { updated = try Registration(row: row) }
        guard let updated else { throw ActivityError.registrationNotFound }
        if before.status == .booked && status == .cancelled {
            let promoted = try await tx.query(
                """
                UPDATE registrations SET status = 'booked', updated_at = \(now)
                WHERE id = (SELECT id FROM registrations WHERE activity_id = \(before.activityID) AND status = 'waitlisted'
                            ORDER BY registered_at, id LIMIT 1)
                RETURNING customer_id
                """)
            for try await customerID in promoted.decode(UUID.self) {
                try await Timeline.recordSystemEvent(
                    "registration.booked", customerID: customerID, actor: actor,
                    subject: before.activityID.uuidString.lowercased(), at: now, in: tx)
            }
        }
        try await TenantAudit.record(
            "registration.updated", subjectType: "customer", subjectID: before.customerID.uuidString.lowercased(), by: actor,
            details: ["registration": registrationID.uuidString.lowercased(), "status": status.rawValue], at: now, in: tx)
        try await Timeline.recordSystemEvent(
            "registration.\(status.rawValue)", customerID: before.customerID, actor: actor,
            subject: before.activityID.uuidString.lowercased(), at: now, in: tx)
        return updated
    }

    /// The longest comment an evaluation may carry.
    public static let evaluationCommentLimit = 4000

    /// Records the customer's evaluation (score 1-10) of an activity they attended; once per registration. `via`
    /// names the channel in the audit row when it is not the actor's own (e.g. the link in a mail).
    public static func evaluate(
        registrationID: UUID, score: Int, comment: String?, by actor: AuditActor, via: String? = nil, now: Date, in tx: TenantTransaction
    ) async throws {
        var errors: [FieldError] = []
        if !(1...10).contains(score) { errors.append(FieldError(field: "score", message: "Give a score from 1 to 10.")) }
        if let comment, comment.count > evaluationCommentLimit {
            errors.append(FieldError(field: "comment", message: "Use at most \(evaluationCommentLimit) characters."))
        }
        guard errors.isEmpty else { throw ActivityError.invalid(errors) }
        let rows = try await tx.query("SELECT status, customer_id FROM registrations WHERE id = \(registrationID)")
        var found: (String, UUID)?
        for try await row in rows.decode((String, UUID).self) { found = row }
        guard let (status, customerID) = found else { throw ActivityError.registrationNotFound }
        guard status == Registration.Status.attended.rawValue else { throw ActivityError.notAttended }
        let inserted = try await tx.query(
            """
            INSERT INTO evaluations (registration_id, score, comment, created_at) VALUES (\(registrationID), \(score), \(comment), \(now))
            ON CONFLICT (registration_id) DO NOTHING RETURNING registration_id
            """)
        var created = false
        for try await _ in inserted { created = true }
        guard created else { throw ActivityError.alreadyEvaluated }
        var details = ["registration": registrationID.uuidString.lowercased()]
        details["via"] = via
        try await TenantAudit.record(
            "evaluation.created", subjectType: "customer", subjectID: customerID.uuidString.lowercased(), by: actor,
            details: details, at: now, in: tx)
    }

    /// What an evaluation form needs to know about a registration: its activity and whether it was evaluated.
    public struct EvaluationRequest: Sendable {
        public let registration: Registration
        public let activity: Activity
        public let evaluated: Bool
    }

    /// The registration with `registrationID`, its activity and whether it has an evaluation; nil for an unknown one.
    public static func evaluationRequest(registrationID: UUID, in tx: TenantTransaction) async throws -> EvaluationRequest? {
        let rows = try await tx.query("SELECT \(unescaped: Registration.columns) FROM registrations WHERE id = \(registrationID)")
        var found: Registration?
        for try await row in rows { found = try Registration(row: row) }
        guard let registration = found else { return nil }
        let evaluated = try await tx.query("SELECT EXISTS (SELECT 1 FROM evaluations WHERE registration_id = \(registrationID))")
            .decode(Bool.self).reduce(false) { $0 || $1 }
        return EvaluationRequest(registration: registration, activity: try await find(registration.activityID, in: tx), evaluated: evaluated)
    }
}
