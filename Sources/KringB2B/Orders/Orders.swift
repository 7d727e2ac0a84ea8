import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Orders and subscriptions per organisation: the transaction history of a school.
public enum Orders {
    public static func create(_ draft: OrderDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Order {
        _ = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        let id = UUID()
        try await tx.query(
            """
            INSERT INTO orders (id, organisation_id, kind, product, period_start, period_end, quantity, amount_cents, status, notes, created_at, updated_at)
            VALUES (\(id), \(draft.organisationID), \(draft.kind.rawValue), \(draft.product), \(draft.periodStart.sql)::date, \(draft.periodEnd?.sql)::date,
                    \(draft.quantity), \(draft.amountCents), \(draft.status.rawValue), \(draft.notes), \(now), \(now))
            """)
        try await TenantAudit.record(
            "order.created", subjectType: "order", subjectID: id.lowercased, by: actor,
            details: ["organisation": draft.organisationID.lowercased], at: now, in: tx)
        return try await find(id: id, in: tx)
    }

    public static func replace(
        id: UUID, with draft: OrderDraft.Valid, by actor: AuditActor, now: Date, in tx: TenantTransaction
    ) async throws -> Order {
        _ = try await find(id: id, in: tx)
        _ = try await Organisations.require(id: draft.organisationID, as: "organisation_id", in: tx)
        try await tx.query(
            """
            UPDATE orders SET organisation_id = \(draft.organisationID), kind = \(draft.kind.rawValue), product = \(draft.product),
                period_start = \(draft.periodStart.sql)::date, period_end = \(draft.periodEnd?.sql)::date, quantity = \(draft.quantity),
                amount_cents = \(draft.amountCents), status = \(draft.status.rawValue), notes = \(draft.notes), updated_at = \(now)
            WHERE id = \(id)
            """)
        try await TenantAudit.record(
            "order.updated", subjectType: "order", subjectID: id.lowercased, by: actor,
            details: ["status": draft.status.rawValue], at: now, in: tx)
        return try await find(id: id, in: tx)
    }

    public static func delete(id: UUID, by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws {
        _ = try await find(id: id, in: tx)
        try await tx.query("DELETE FROM orders WHERE id = \(id)")
        try await TenantAudit.record("order.deleted", subjectType: "order", subjectID: id.lowercased, by: actor, at: now, in: tx)
    }

    public static func find(id: UUID, in tx: TenantTransaction) async throws -> Order {
        let rows = try await tx.query("SELECT \(unescaped: Order.columns) FROM orders s WHERE s.id = \(id)")
        for try await row in rows { return try Order(row: row) }
        throw RelationsError.notFound(.order)
    }

    public struct Filter: Sendable {
        public var organisationID: UUID?
        public var kind: Order.Kind?
        public var status: Order.Status?
        /// Orders whose period overlaps this calendar year.
        public var year: Int?
        /// Matches part of the product name.
        public var query: String?
        /// Keyset: before this (period_start, id).
        public var before: (CalendarDate, UUID)?
        public var limit: Int

        public init(
            organisationID: UUID? = nil, kind: Order.Kind? = nil, status: Order.Status? = nil, year: Int? = nil, query: String? = nil,
            before: (CalendarDate, UUID)? = nil, limit: Int = 50
        ) {
            self.organisationID = organisationID
            self.kind = kind
            self.status = status
            self.year = year
            self.query = query
            self.before = before
            self.limit = limit
        }
    }

    /// Newest period first; keyset on (period_start, id).
    public static func list(_ filter: Filter, in tx: TenantTransaction) async throws -> [Order] {
        let pattern = filter.query.flatMap { $0.trimmed().isEmpty ? nil : likePattern($0.trimmed().lowercased()) }
        let yearStart = filter.year.flatMap { CalendarDate(year: $0, month: 1, day: 1) }?.sql
        let yearEnd = filter.year.flatMap { CalendarDate(year: $0, month: 12, day: 31) }?.sql
        let rows = try await tx.query(
            """
            SELECT \(unescaped: Order.columns) FROM orders s
            WHERE (\(filter.organisationID)::uuid IS NULL OR s.organisation_id = \(filter.organisationID))
              AND (\(filter.kind?.rawValue)::text IS NULL OR s.kind = \(filter.kind?.rawValue))
              AND (\(filter.status?.rawValue)::text IS NULL OR s.status = \(filter.status?.rawValue))
              AND (\(yearStart)::date IS NULL OR (s.period_start <= \(yearEnd)::date AND coalesce(s.period_end, s.period_start) >= \(yearStart)::date))
              AND (\(pattern)::text IS NULL OR lower(s.product) LIKE \(pattern))
              AND (\(filter.before?.0.sql)::date IS NULL OR (s.period_start, s.id) < (\(filter.before?.0.sql)::date, \(filter.before?.1)))
            ORDER BY s.period_start DESC, s.id DESC
            LIMIT \(filter.limit)
            """)
        var orders: [Order] = []
        for try await row in rows { orders.append(try Order(row: row)) }
        return orders
    }
}
