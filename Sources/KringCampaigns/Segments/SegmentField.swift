import KringB2B
import KringB2C

/// One field a segment may test: its name in rules, its type, and its SQL. B2C fields are written over
/// `customers c`; B2B fields over one active role of a contact: `contacts ct`, `contact_roles cr`, `organisations o`.
///
/// The catalogues are the whitelist: a rule names fields and operators only by these names, and the compiler writes
/// only the SQL below; every value a rule carries travels as a bind parameter.
public struct SegmentField: Sendable {
    public enum Kind: Sendable {
        /// A whole number column or expression.
        case number(sql: String, nullable: Bool)
        /// Whole years or days since a date column (age, membership years, days since the last loan), compared
        /// through the date so an index on the column serves it.
        case elapsed(column: String, unit: ElapsedUnit)
        case date(column: String)
        /// Text, optionally one of fixed choices.
        case text(column: String, choices: [String]?)
        case identifier(column: String)
        /// A `text[]` column that is never NULL.
        case textList(column: String, choices: [String]?)
        /// A condition that holds or not (never NULL).
        case flag(sql: String)
        /// Current consent (latest statement per topic is opted in or confirmed) on a topic: `consents` of a customer,
        /// `contact_consents` of a contact.
        case consent
        /// A registration with one of these statuses for an activity, narrowed by category, branch and dates.
        case activity(statuses: [String])
        /// A score the customer gave in an evaluation.
        case evaluationScore
        /// Another household member (same address, or a linked child) aged within a range.
        case householdYouthAge
        /// A campaign event of this kind for the customer (or contact).
        case campaignEvent(kind: String)
    }

    public enum ElapsedUnit: Sendable { case years, days }

    public let name: String
    public let kind: Kind

    /// The field's type, as the operators it takes depend on it.
    var typeName: String {
        switch kind {
        case .number: "number"
        case .elapsed: "elapsed"
        case .date: "date"
        case .text: "text"
        case .identifier: "identifier"
        case .textList: "list"
        case .flag: "flag"
        case .consent: "consent"
        case .activity: "activity"
        case .evaluationScore: "score"
        case .householdYouthAge: "household"
        case .campaignEvent: "campaign"
        }
    }

    public var operators: [SegmentOperator] {
        switch kind {
        case .number(_, let nullable):
            [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .between, .in] + (nullable ? [.isEmpty] : [])
        case .elapsed: [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .between, .in, .isEmpty]
        case .date:
            [
                .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .between, .isEmpty, .withinLastDays, .withinNextDays,
                .anniversaryInDays,
            ]
        case .text, .identifier: [.equal, .notEqual, .in, .isEmpty]
        case .textList: [.contains, .in, .isEmpty]
        case .flag: [.equal]
        case .consent: [.equal, .in]
        case .activity, .campaignEvent: [.exists]
        case .evaluationScore: [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .between, .in]
        case .householdYouthAge: [.between]
        }
    }

    /// The B2C catalogue, by name.
    public static let catalogue: [String: SegmentField] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    /// The B2B catalogue, by name.
    public static let b2bCatalogue: [String: SegmentField] = Dictionary(uniqueKeysWithValues: b2b.map { ($0.name, $0) })

    public static func catalogue(for subject: Segment.Subject) -> [String: SegmentField] {
        subject == .b2c ? catalogue : b2bCatalogue
    }

    public static func fields(for subject: Segment.Subject) -> [SegmentField] {
        subject == .b2c ? all : b2b
    }

    /// Business contacts. A contact is in a segment when one of their roles that is active today, at its
    /// organisation, meets the whole rule: "decision makers at primary schools" never picks the user at a school who
    /// is also a decision maker at a municipality.
    public static let b2b: [SegmentField] = [
        // Organisation types are the built-in ones and a library's own (organisation_types), so no fixed choices.
        SegmentField(name: "organisation_type", kind: .text(column: "o.type", choices: nil)),
        SegmentField(name: "organisation_status", kind: .text(column: "o.status", choices: Organisation.Status.allCases.map(\.rawValue))),
        SegmentField(name: "organisation", kind: .identifier(column: "o.id")),
        // A school board's schools, a municipality's departments.
        SegmentField(name: "parent_organisation", kind: .identifier(column: "o.parent_id")),
        SegmentField(name: "account_owner", kind: .identifier(column: "o.account_owner_user_id")),
        SegmentField(name: "organisation_municipality", kind: .text(column: "o.municipality", choices: nil)),
        SegmentField(name: "organisation_tags", kind: .textList(column: "o.tags", choices: nil)),
        SegmentField(name: "dmu_role", kind: .text(column: "cr.dmu_role", choices: DMURole.allCases.map(\.rawValue))),
        SegmentField(name: "consent", kind: .consent),
        SegmentField(name: "campaign_received", kind: .campaignEvent(kind: "sent")),
        SegmentField(name: "campaign_opened", kind: .campaignEvent(kind: "opened")),
        SegmentField(name: "campaign_clicked", kind: .campaignEvent(kind: "clicked")),
    ]

    /// A column of the customer's postcode in the current Mosaic delivery, as a scalar subquery (one probe of the
    /// postcode table's key per customer).
    static func mosaicOfPostcode(_ column: String) -> String {
        """
        (SELECT mp.\(column) FROM reference.mosaic_postcodes mp JOIN reference.mosaic_deliveries md ON md.id = mp.delivery_id \
        WHERE md.current AND mp.postcode = c.postcode)
        """
    }

    public static let all: [SegmentField] = [
        SegmentField(name: "age", kind: .elapsed(column: "c.birth_date", unit: .years)),
        SegmentField(name: "birth_date", kind: .date(column: "c.birth_date")),
        SegmentField(name: "member_type", kind: .text(column: "c.member_type", choices: Customer.MemberType.allCases.map(\.rawValue))),
        SegmentField(
            name: "membership_status", kind: .text(column: "c.membership_status", choices: Customer.MembershipStatus.allCases.map(\.rawValue))),
        SegmentField(name: "membership_years", kind: .elapsed(column: "c.membership_start", unit: .years)),
        SegmentField(name: "membership_start", kind: .date(column: "c.membership_start")),
        SegmentField(name: "membership_end", kind: .date(column: "c.membership_end")),
        SegmentField(name: "roles", kind: .textList(column: "c.roles", choices: Customer.RoleKind.allCases.map(\.rawValue))),
        SegmentField(name: "favourite_branch", kind: .identifier(column: "c.favourite_branch_id")),
        SegmentField(name: "municipality", kind: .text(column: "c.municipality", choices: nil)),
        SegmentField(name: "postcode", kind: .text(column: "c.postcode", choices: nil)),
        // The four digits of a Dutch postcode, for ranges ("2011 to 2015").
        SegmentField(name: "postcode_area", kind: .number(sql: "substr(c.postcode, 1, 4)::integer", nullable: true)),
        // The Mosaic segment and subsegment of the customer's postcode (its dominant one, most households) in the
        // current delivery of the shared reference data; none when no delivery is loaded or the postcode is not in it.
        SegmentField(name: "mosaic_segment", kind: .text(column: mosaicOfPostcode("segment_code"), choices: nil)),
        SegmentField(name: "mosaic_subsegment", kind: .text(column: mosaicOfPostcode("subsegment_code"), choices: nil)),
        // Loan signals only (data minimisation): the library system exports counts for the last 12 months and in total.
        SegmentField(name: "loans_12m", kind: .number(sql: "c.loans_12m", nullable: false)),
        SegmentField(name: "loans_total", kind: .number(sql: "c.loans_total", nullable: false)),
        SegmentField(name: "last_loan_date", kind: .date(column: "c.last_loan_date")),
        SegmentField(name: "days_since_last_loan", kind: .elapsed(column: "c.last_loan_date", unit: .days)),
        SegmentField(name: "never_borrowed", kind: .flag(sql: "(c.loans_total = 0 AND c.last_loan_date IS NULL)")),
        SegmentField(name: "genres", kind: .textList(column: "c.genres", choices: nil)),
        SegmentField(name: "tags", kind: .textList(column: "c.tags", choices: nil)),
        SegmentField(name: "consent", kind: .consent),
        // Registered: booked, attended or did not show; a cancelled or waitlisted booking is no registration.
        SegmentField(name: "activity_registered", kind: .activity(statuses: ["booked", "attended", "no_show"])),
        SegmentField(name: "activity_attended", kind: .activity(statuses: ["attended"])),
        SegmentField(name: "evaluation_score", kind: .evaluationScore),
        SegmentField(
            name: "complaint_open", kind: .flag(sql: "EXISTS (SELECT 1 FROM complaints q WHERE q.customer_id = c.id AND q.status <> 'resolved')")),
        SegmentField(name: "household_youth_age", kind: .householdYouthAge),
        SegmentField(name: "campaign_received", kind: .campaignEvent(kind: "sent")),
        SegmentField(name: "campaign_opened", kind: .campaignEvent(kind: "opened")),
        SegmentField(name: "campaign_clicked", kind: .campaignEvent(kind: "clicked")),
    ]
}
