import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Churn early warning: active members who borrowed before but not for a while (the library's own figures show that
/// leavers stopped borrowing long before they left). Counted per branch and member type, listed for the front desk to
/// work through, each with whether someone reached out since their last loan (an outbound contact moment on the
/// timeline with `subject`).
public enum QuietMembers {
    /// The subject of the contact moment that marks a member as contacted.
    public static let subject = "Vroegsignalering: contact gezocht omdat er niet meer geleend wordt"

    /// Months without a loan as days, so that a list and a segment (`days_since_last_loan`) agree: 12 months is 365.
    public static func days(months: Int) -> Int { Int((Double(months) * 30.44).rounded()) }

    public struct Count: Sendable, Equatable {
        public let label: String
        public let count: Int

        public init(label: String, count: Int) {
            self.label = label
            self.count = count
        }
    }

    public struct Member: Sendable, Equatable {
        public let id: UUID
        public let name: String
        public let memberNumber: String?
        public let memberType: String?
        public let branch: String?
        public let lastLoan: CalendarDate
        public let contactedAt: Date?
    }

    static func condition(today: CalendarDate, months: Int) -> SQL {
        """
        c.merged_into IS NULL AND c.erased_at IS NULL AND c.roles @> '{member}' AND c.membership_status = 'active'
        AND c.last_loan_date IS NOT NULL AND c.last_loan_date < \(today.adding(days: -days(months: months)).description)::date
        """
    }

    /// How many per favourite branch and per member type (most first); "Geen vestiging" for members without one.
    public static func counts(
        today: CalendarDate, months: Int, in tx: TenantTransaction
    ) async throws -> (
        total: Int, branches: [Count], types: [Count]
    ) {
        let statement: SQL = """
            SELECT 1, coalesce(b.name, 'Geen vestiging'), count(*)::int8 FROM customers c LEFT JOIN branches b ON b.id = c.favourite_branch_id
            WHERE \(condition(today: today, months: months)) GROUP BY 2
            UNION ALL
            SELECT 2, coalesce(c.member_type, 'onbekend'), count(*)::int8 FROM customers c WHERE \(condition(today: today, months: months)) GROUP BY 2
            ORDER BY 1, 3 DESC, 2
            """
        var branches: [Count] = []
        var types: [Count] = []
        for try await (level, label, count) in try await tx.query(statement.query).decode((Int, String, Int).self) {
            if level == 1 { branches.append(Count(label: label, count: count)) } else { types.append(Count(label: label, count: count)) }
        }
        return (branches.reduce(0) { $0 + $1.count }, branches, types)
    }

    /// A page of the list, longest quiet first, optionally one branch's and only those nobody contacted yet; recorded
    /// in the library's audit log (who read which page of whom).
    public static func list(
        today: CalendarDate, months: Int, branchID: UUID?, onlyUncontacted: Bool, offset: Int, limit: Int, by actor: AuditActor, now: Date,
        in tx: TenantTransaction
    ) async throws -> [Member] {
        let statement: SQL = """
            SELECT c.id, concat_ws(' ', c.first_name, c.infix, c.last_name), c.member_number, c.member_type, b.name, c.last_loan_date::text,
                   (SELECT max(m.occurred_at) FROM contact_moments m
                    WHERE m.customer_id = c.id AND m.subject = \(subject) AND m.occurred_at >= c.last_loan_date)
            FROM customers c LEFT JOIN branches b ON b.id = c.favourite_branch_id
            WHERE \(condition(today: today, months: months)) AND (\(branchID)::uuid IS NULL OR c.favourite_branch_id = \(branchID))
              AND (NOT \(onlyUncontacted) OR NOT EXISTS (SELECT 1 FROM contact_moments m
                    WHERE m.customer_id = c.id AND m.subject = \(subject) AND m.occurred_at >= c.last_loan_date))
            ORDER BY c.last_loan_date, c.id
            OFFSET \(offset) LIMIT \(limit)
            """
        var members: [Member] = []
        for try await (id, name, number, type, branch, lastLoan, contacted) in try await tx.query(statement.query).decode(
            (UUID, String, String?, String?, String?, String, Date?).self)
        {
            guard let day = CalendarDate(lastLoan) else { continue }
            members.append(Member(id: id, name: name, memberNumber: number, memberType: type, branch: branch, lastLoan: day, contactedAt: contacted))
        }
        try await TenantAudit.record(
            "customers.quiet_members_listed", subjectType: "customer_list", subjectID: "quiet_members", by: actor,
            details: ["months": String(months), "shown": String(members.count), "offset": String(offset)], at: now, in: tx)
        return members
    }
}
