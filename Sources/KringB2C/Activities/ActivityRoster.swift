import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// What the staff screens of activities read: a week's programme, the roster at the door and the evaluations.
extension Activities {
    /// Activities starting in [from, to), optionally at one branch, in start order.
    public static func between(_ from: Date, _ to: Date, branchID: UUID?, in tx: TenantTransaction) async throws -> [Activity] {
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Activity.columns) FROM activities a
            WHERE a.starts_at >= \(from) AND a.starts_at < \(to) AND (\(branchID)::uuid IS NULL OR a.branch_id = \(branchID))
            ORDER BY a.starts_at, a.id LIMIT 500
            """)
        var activities: [Activity] = []
        for try await row in rows { activities.append(try Activity(row: row)) }
        return activities
    }

    /// Changes an activity's details (the same rules as creating one). A smaller capacity never removes a booking.
    public static func update(id: UUID, _ draft: ActivityDraft, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Activity {
        try validate(draft)
        let rows: PostgresRowSequence
        do {
            rows = try await tx.query(
                """
                UPDATE activities SET title = \(draft.title.trimmingCharacters(in: .whitespacesAndNewlines)),
                    category = \(draft.category.trimmingCharacters(in: .whitespaces).lowercased()), target_group = \(draft.targetGroup),
                    branch_id = \(draft.branchID), starts_at = \(draft.startsAt), ends_at = \(draft.endsAt), capacity = \(draft.capacity),
                    price_cents = \(draft.priceCents ?? 0), updated_at = \(now)
                WHERE id = \(id) RETURNING id
                """)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            throw ActivityError.invalid([FieldError(field: "branch_id", message: "No such branch in this library.")])
        }
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw ActivityError.notFound }
        try await TenantAudit.record("activity.updated", subjectType: "activity", subjectID: id.uuidString.lowercased(), by: actor, at: now, in: tx)
        return try await find(id, in: tx)
    }

    /// The checks every activity draft passes.
    static func validate(_ draft: ActivityDraft) throws {
        var errors: [FieldError] = []
        let title = draft.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty || title.count > 200 { errors.append(FieldError(field: "title", message: "Give a title of 1 to 200 characters.")) }
        let category = draft.category.trimmingCharacters(in: .whitespaces).lowercased()
        if category.isEmpty || category.count > 50 { errors.append(FieldError(field: "category", message: "Give a category of 1 to 50 characters.")) }
        if draft.endsAt <= draft.startsAt { errors.append(FieldError(field: "ends_at", message: "Ends after it starts.")) }
        if let capacity = draft.capacity, capacity < 1 || capacity > 100_000 {
            errors.append(FieldError(field: "capacity", message: "Use 1 to 100000."))
        }
        if let price = draft.priceCents, price < 0 || price > 1_000_000 {
            errors.append(FieldError(field: "price_cents", message: "Use 0 to 1000000 cents."))
        }
        guard errors.isEmpty else { throw ActivityError.invalid(errors) }
    }

    /// One line of the roster at the door.
    public struct RosterLine: Sendable {
        public let registration: Registration
        public let customerName: String
        public let memberNumber: String?
    }

    /// Everyone registered for an activity, booked and attended first, then the waiting list in its order.
    public static func roster(activityID: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> [RosterLine] {
        _ = try await find(activityID, in: tx)
        let rows = try await tx.query(
            """
            SELECT r.id, r.activity_id, r.customer_id, r.status, r.price_paid_cents, r.source, r.registered_at,
                   concat_ws(' ', c.first_name, c.infix, c.last_name), c.member_number
            FROM registrations r JOIN customers c ON c.id = r.customer_id
            WHERE r.activity_id = \(activityID)
            ORDER BY CASE r.status WHEN 'waitlisted' THEN 1 WHEN 'cancelled' THEN 2 ELSE 0 END, r.registered_at, r.id
            """)
        var lines: [RosterLine] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            let registration = Registration(
                id: try c[0].decode(UUID.self), activityID: try c[1].decode(UUID.self), customerID: try c[2].decode(UUID.self),
                status: try c[3].decodeEnum(Registration.Status.self), pricePaidCents: try c[4].decode(Int.self),
                source: try c[5].decodeEnum(Registration.Source.self), registeredAt: try c[6].decode(Date.self))
            lines.append(
                RosterLine(registration: registration, customerName: try c[7].decode(String.self), memberNumber: try c[8].decode(String?.self)))
        }
        // A roster names people: reading it is audited once, with the count.
        try await TenantAudit.record(
            "activity.roster_read", subjectType: "activity", subjectID: activityID.uuidString.lowercased(), by: actor,
            details: ["registrations": String(lines.count)], at: now, in: tx)
        return lines
    }

    /// The evaluations of an activity: how many, the average score, and the comments (newest first).
    public struct EvaluationSummary: Sendable {
        public let count: Int
        public let averageScore: Double?
        public let comments: [String]
    }

    public static func evaluations(activityID: UUID, in tx: TenantTransaction) async throws -> EvaluationSummary {
        let rows = try await tx.query(
            """
            SELECT e.score, e.comment FROM evaluations e JOIN registrations r ON r.id = e.registration_id
            WHERE r.activity_id = \(activityID) ORDER BY e.created_at DESC
            """)
        var scores: [Int] = []
        var comments: [String] = []
        for try await (score, comment) in rows.decode((Int, String?).self) {
            scores.append(score)
            if let comment, !comment.isEmpty { comments.append(comment) }
        }
        return EvaluationSummary(
            count: scores.count, averageScore: scores.isEmpty ? nil : Double(scores.reduce(0, +)) / Double(scores.count),
            comments: comments)
    }
}

extension Registration {
    init(id: UUID, activityID: UUID, customerID: UUID, status: Status, pricePaidCents: Int, source: Source, registeredAt: Date) {
        self.id = id
        self.activityID = activityID
        self.customerID = customerID
        self.status = status
        self.pricePaidCents = pricePaidCents
        self.source = source
        self.registeredAt = registeredAt
    }
}
