import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// An order of an educational programme, or a subscription, by an organisation.
public struct Order: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case order, subscription }
    public enum Status: String, Sendable, Codable, CaseIterable { case quoted, ordered, delivered, invoiced, cancelled }

    public let id: UUID
    public let organisationID: UUID
    public let kind: Kind
    public let product: String
    public let periodStart: CalendarDate
    public let periodEnd: CalendarDate?
    public let quantity: Int
    public let amountCents: Int
    public let status: Status
    public let notes: String?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = """
        s.id, s.organisation_id, s.kind, s.product, s.period_start::text, s.period_end::text, s.quantity, s.amount_cents, s.status, s.notes,
        s.created_at, s.updated_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        organisationID = try c[1].decode(UUID.self)
        kind = try c[2].decodeEnum(Kind.self)
        product = try c[3].decode(String.self)
        periodStart = try c[4].decodeCalendarDate(CalendarDate.self)
        periodEnd = try c[5].decodeCalendarDate(CalendarDate?.self)
        quantity = try c[6].decode(Int.self)
        amountCents = try c[7].decode(Int.self)
        status = try c[8].decodeEnum(Status.self)
        notes = try c[9].decode(String?.self)
        createdAt = try c[10].decode(Date.self)
        updatedAt = try c[11].decode(Date.self)
    }
}

public struct OrderDraft: Sendable, Decodable {
    public var organisationID: UUID?
    public var kind: String?
    public var product: String?
    public var periodStart: String?
    public var periodEnd: String?
    public var quantity: Int?
    public var amountCents: Int?
    public var status: String?
    public var notes: String?

    enum CodingKeys: String, CodingKey {
        case organisationID = "organisation_id"
        case kind, product
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case quantity
        case amountCents = "amount_cents"
        case status, notes
    }

    public init(
        organisationID: UUID?, kind: String? = nil, product: String?, periodStart: String?, periodEnd: String? = nil,
        quantity: Int? = nil, amountCents: Int?, status: String? = nil, notes: String? = nil
    ) {
        self.organisationID = organisationID
        self.kind = kind
        self.product = product
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.quantity = quantity
        self.amountCents = amountCents
        self.status = status
        self.notes = notes
    }

    public struct Valid: Sendable {
        public var organisationID: UUID
        public var kind: Order.Kind
        public var product: String
        public var periodStart: CalendarDate
        public var periodEnd: CalendarDate?
        public var quantity: Int
        public var amountCents: Int
        public var status: Order.Status
        public var notes: String?
    }

    public func validate() throws(RelationsError) -> Valid {
        var v = Validator()
        if organisationID == nil { v.fail("organisation_id", "Name the organisation.") }
        let kind: Order.Kind? = v.choice(kind, "kind", fallback: .order)
        let product = v.required(product, "product")
        let start = v.requiredDate(periodStart, "period_start")
        let end = v.date(periodEnd, "period_end")
        v.period(start, end, endField: "period_end", startField: "period_start")
        let quantity = quantity ?? 1
        if quantity < 1 || quantity > 1_000_000 { v.fail("quantity", "Use 1 to 1000000.") }
        let amount = v.amount(amountCents, "amount_cents", required: true)
        let status: Order.Status? = v.choice(status, "status", fallback: .ordered)
        let notes = v.text(notes, "notes", max: 4000)
        try v.check()
        guard let organisationID, let kind, let start, let amount, let status else { throw .invalid(v.errors) }
        return Valid(
            organisationID: organisationID, kind: kind, product: product, periodStart: start, periodEnd: end, quantity: quantity,
            amountCents: amount, status: status, notes: notes)
    }
}
