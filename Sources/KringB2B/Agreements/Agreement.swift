import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A performance or subsidy agreement, mostly with a municipality. Its renewal date feeds a reminder task.
public struct Agreement: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case performance, subsidy }
    public enum Status: String, Sendable, Codable, CaseIterable { case draft, active, ended }

    public let id: UUID
    public let organisationID: UUID
    public let kind: Kind
    public let title: String
    public let periodStart: CalendarDate
    public let periodEnd: CalendarDate?
    public let amountCents: Int?
    /// What the library delivers, as agreed (free text).
    public let deliverables: String?
    public let renewalDate: CalendarDate?
    public let status: Status
    /// The open or finished reminder task for the renewal, if there is a renewal date.
    public let renewalTaskID: UUID?
    public let createdAt: Date
    public let updatedAt: Date

    static let columns = """
        a.id, a.organisation_id, a.kind, a.title, a.period_start::text, a.period_end::text, a.amount_cents, a.deliverables, a.renewal_date::text,
        a.status, (SELECT t.id FROM tasks t WHERE t.agreement_id = a.id AND t.kind = 'renewal'), a.created_at, a.updated_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        organisationID = try c[1].decode(UUID.self)
        kind = try c[2].decodeEnum(Kind.self)
        title = try c[3].decode(String.self)
        periodStart = try c[4].decodeCalendarDate(CalendarDate.self)
        periodEnd = try c[5].decodeCalendarDate(CalendarDate?.self)
        amountCents = try c[6].decode(Int?.self)
        deliverables = try c[7].decode(String?.self)
        renewalDate = try c[8].decodeCalendarDate(CalendarDate?.self)
        status = try c[9].decodeEnum(Status.self)
        renewalTaskID = try c[10].decode(UUID?.self)
        createdAt = try c[11].decode(Date.self)
        updatedAt = try c[12].decode(Date.self)
    }
}

public struct AgreementDraft: Sendable, Decodable {
    public var organisationID: UUID?
    public var kind: String?
    public var title: String?
    public var periodStart: String?
    public var periodEnd: String?
    public var amountCents: Int?
    public var deliverables: String?
    public var renewalDate: String?
    public var status: String?

    enum CodingKeys: String, CodingKey {
        case organisationID = "organisation_id"
        case kind, title
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case amountCents = "amount_cents"
        case deliverables
        case renewalDate = "renewal_date"
        case status
    }

    public init(
        organisationID: UUID?, kind: String?, title: String?, periodStart: String?, periodEnd: String? = nil, amountCents: Int? = nil,
        deliverables: String? = nil, renewalDate: String? = nil, status: String? = nil
    ) {
        self.organisationID = organisationID
        self.kind = kind
        self.title = title
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.amountCents = amountCents
        self.deliverables = deliverables
        self.renewalDate = renewalDate
        self.status = status
    }

    public struct Valid: Sendable {
        public var organisationID: UUID
        public var kind: Agreement.Kind
        public var title: String
        public var periodStart: CalendarDate
        public var periodEnd: CalendarDate?
        public var amountCents: Int?
        public var deliverables: String?
        public var renewalDate: CalendarDate?
        public var status: Agreement.Status
    }

    public func validate() throws(RelationsError) -> Valid {
        var v = Validator()
        if organisationID == nil { v.fail("organisation_id", "Name the organisation.") }
        let kind: Agreement.Kind? = v.choice(kind, "kind")
        let title = v.required(title, "title")
        let start = v.requiredDate(periodStart, "period_start")
        let end = v.date(periodEnd, "period_end")
        v.period(start, end, endField: "period_end", startField: "period_start")
        let amount = v.amount(amountCents, "amount_cents", required: false)
        let deliverables = v.text(deliverables, "deliverables", max: 20_000)
        let renewal = v.date(renewalDate, "renewal_date")
        let status: Agreement.Status? = v.choice(status, "status", fallback: .active)
        try v.check()
        guard let organisationID, let kind, let start, let status else { throw .invalid(v.errors) }
        return Valid(
            organisationID: organisationID, kind: kind, title: title, periodStart: start, periodEnd: end, amountCents: amount,
            deliverables: deliverables, renewalDate: renewal, status: status)
    }
}
