import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A person known to the library in any role: member, activity guest or visitor.
public struct Customer: Sendable, Codable, Equatable {
    public enum RoleKind: String, Sendable, Codable, CaseIterable { case member, guest, visitor }
    public enum MemberType: String, Sendable, Codable, CaseIterable {
        case youth, adult, friend, nt2
        case libraryAtHome = "library_at_home"
        case digital, institution, other
    }
    public enum MembershipStatus: String, Sendable, Codable, CaseIterable { case active, ended, suspended }

    public let id: UUID
    public let version: Int
    public var roles: [RoleKind]
    public var memberNumber: String?
    public var memberType: MemberType?
    public var membershipStatus: MembershipStatus?
    public var membershipStart: CalendarDate?
    public var membershipEnd: CalendarDate?
    public var endReason: String?
    public var subscriptionFeeCents: Int?
    public var firstName: String?
    public var infix: String?
    public var lastName: String?
    public var birthDate: CalendarDate?
    public var email: String?
    public var phone: String?
    public var postcode: String?
    public var houseNumber: String?
    public var houseNumberAddition: String?
    public var street: String?
    public var city: String?
    public var municipality: String?
    public var preferredLanguage: String?
    public var favouriteBranchID: UUID?
    public var genres: [String]
    public var tags: [String]
    public var notes: String?
    public var householdID: UUID?
    public var loanSignals: LoanSignals
    public var erasedAt: Date?
    public let createdAt: Date
    public var updatedAt: Date

    /// What the library system tells about borrowing, without titles.
    public struct LoanSignals: Sendable, Codable, Equatable {
        public var lastLoanDate: CalendarDate?
        public var loans12m: Int
        public var loansTotal: Int
        public var genreCounts: [String: Int]
    }

    /// Columns in the order and form `init(row:)` reads (dates as ISO text).
    static let columns = """
        id, version, roles, member_number, member_type, membership_status, membership_start::text, membership_end::text,
        end_reason, subscription_fee_cents, first_name, infix, last_name, birth_date::text, email, phone, postcode,
        house_number, house_number_addition, street, city, municipality, preferred_language, favourite_branch_id,
        genres, tags, notes, household_id, last_loan_date::text, loans_12m, loans_total, genre_loans::text,
        erased_at, created_at, updated_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        func date(_ index: Int) throws -> CalendarDate? { try c[index].decodeCalendarDate(CalendarDate?.self) }
        id = try c[0].decode(UUID.self)
        version = try c[1].decode(Int.self)
        roles = try c[2].decodeEnum([RoleKind].self)
        memberNumber = try c[3].decode(String?.self)
        memberType = try c[4].decodeEnum(MemberType?.self)
        membershipStatus = try c[5].decodeEnum(MembershipStatus?.self)
        membershipStart = try date(6)
        membershipEnd = try date(7)
        endReason = try c[8].decode(String?.self)
        subscriptionFeeCents = try c[9].decode(Int?.self)
        firstName = try c[10].decode(String?.self)
        infix = try c[11].decode(String?.self)
        lastName = try c[12].decode(String?.self)
        birthDate = try date(13)
        email = try c[14].decode(String?.self)
        phone = try c[15].decode(String?.self)
        postcode = try c[16].decode(String?.self)
        houseNumber = try c[17].decode(String?.self)
        houseNumberAddition = try c[18].decode(String?.self)
        street = try c[19].decode(String?.self)
        city = try c[20].decode(String?.self)
        municipality = try c[21].decode(String?.self)
        preferredLanguage = try c[22].decode(String?.self)
        favouriteBranchID = try c[23].decode(UUID?.self)
        genres = try c[24].decode([String].self)
        tags = try c[25].decode([String].self)
        notes = try c[26].decode(String?.self)
        householdID = try c[27].decode(UUID?.self)
        loanSignals = LoanSignals(
            lastLoanDate: try date(28), loans12m: try c[29].decode(Int.self), loansTotal: try c[30].decode(Int.self),
            genreCounts: try c[31].decodeJSON([String: Int].self))
        erasedAt = try c[32].decode(Date?.self)
        createdAt = try c[33].decode(Date.self)
        updatedAt = try c[34].decode(Date.self)
    }

    /// "Jan de Vries", for staff screens.
    public var displayName: String {
        [firstName, infix, lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}

public enum CustomerError: Error, ProblemConvertible, Equatable {
    case invalid([FieldError])
    case notFound
    case merged(into: UUID)
    case versionMismatch(current: Int)
    case versionRequired
    case duplicateMemberNumber
    case erased
    case cannotMergeWithItself
    /// A field names a customer this library does not have (which may be another library's id: the caller audits it).
    case unknownReference(field: String, id: UUID)

    public var problem: Problem {
        switch self {
        case .invalid(let errors): .validation(errors)
        case .notFound: .notFound("No such customer in this library.")
        case .merged(let survivor): .notFound("This customer was merged into \(survivor.uuidString.lowercased()).")
        case .versionMismatch(let current):
            Problem(
                status: 412, type: "https://kring.nl/problems/version-mismatch", title: "Changed by someone else",
                detail: "The customer was changed since you read it (now version \(current)). Reload and apply your change again.")
        case .versionRequired:
            Problem(
                status: 428, type: "https://kring.nl/problems/version-required", title: "Version required",
                detail: "Send If-Match with the version you read, so a concurrent change is not overwritten.")
        case .duplicateMemberNumber:
            .validation([FieldError(field: "member_number", message: "Another customer has this member number.")])
        case .erased:
            Problem(status: 410, type: "https://kring.nl/problems/erased", title: "Erased", detail: "This customer's personal data was erased.")
        case .cannotMergeWithItself: .validation([FieldError(field: "duplicate_id", message: "A customer cannot be merged with itself.")])
        case .unknownReference(let field, _): .validation([FieldError(field: field, message: "No such customer in this library.")])
        }
    }
}
