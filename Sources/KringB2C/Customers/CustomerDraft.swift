import Foundation
import KringCore

/// What staff or an integration send to create or replace a customer, before validation.
///
/// Values arrive as text so that every problem is reported at once, per field, with a clear reason.
public struct CustomerDraft: Sendable, Decodable, Equatable {
    public var roles: [String]
    public var memberNumber: String?
    public var memberType: String?
    public var membershipStatus: String?
    public var membershipStart: String?
    public var membershipEnd: String?
    public var endReason: String?
    public var subscriptionFeeCents: Int?
    public var firstName: String?
    public var infix: String?
    public var lastName: String?
    public var birthDate: String?
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
    public var genres: [String]?
    public var tags: [String]?
    public var notes: String?

    enum CodingKeys: String, CodingKey {
        case roles
        case memberNumber = "member_number"
        case memberType = "member_type"
        case membershipStatus = "membership_status"
        case membershipStart = "membership_start"
        case membershipEnd = "membership_end"
        case endReason = "end_reason"
        case subscriptionFeeCents = "subscription_fee_cents"
        case firstName = "first_name"
        case infix
        case lastName = "last_name"
        case birthDate = "birth_date"
        case email, phone, postcode
        case houseNumber = "house_number"
        case houseNumberAddition = "house_number_addition"
        case street, city, municipality
        case preferredLanguage = "preferred_language"
        case favouriteBranchID = "favourite_branch_id"
        case genres, tags, notes
    }

    public init(roles: [String]) {
        self.roles = roles
    }

    /// A draft that passed validation: normalised values ready for SQL.
    public struct Valid: Sendable, Equatable {
        public var roles: [String]
        public var memberNumber: String?
        public var memberType: String?
        public var membershipStatus: String?
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
    }

    /// Validates and normalises; `today` decides which dates lie in the future.
    public func validate(today: CalendarDate) throws(CustomerError) -> Valid {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(FieldError(field: field, message: message)) }
        func text(_ value: String?, _ field: String, max: Int = 200) -> String? {
            guard let trimmed = value?.trimmed(), !trimmed.isEmpty else { return nil }
            // A character is at least one byte: only long byte strings need counting.
            if trimmed.utf8.count > max, trimmed.count > max { fail(field, "Use at most \(max) characters.") }
            return trimmed
        }
        func date(_ value: String?, _ field: String, notAfterToday: Bool) -> CalendarDate? {
            guard let raw = text(value, field) else { return nil }
            guard let parsed = CalendarDate(raw) else {
                fail(field, "Not a date; use YYYY-MM-DD or DD-MM-YYYY.")
                return nil
            }
            if notAfterToday && parsed > today { fail(field, "Cannot lie in the future.") }
            if parsed.year < 1900 { fail(field, "Lies before 1900.") }
            return parsed
        }
        func list(_ values: [String]?, _ field: String) -> [String] {
            let cleaned = (values ?? []).map { $0.trimmed().lowercased() }.filter { !$0.isEmpty }
            if cleaned.count > 50 { fail(field, "Use at most 50 entries.") }
            for (index, value) in cleaned.enumerated() where value.count > 50 { fail("\(field)[\(index)]", "Use at most 50 characters.") }
            return Array(Set(cleaned)).sorted()
        }

        var valid = Valid(roles: [], genres: list(genres, "genres"), tags: list(tags, "tags"))
        let roleSet = Set(roles.map { $0.lowercased() })
        if roleSet.isEmpty { fail("roles", "Give at least one of member, guest, visitor.") }
        for role in roleSet where Customer.RoleKind(rawValue: role) == nil {
            fail("roles", "'\(role)' is not a role; use member, guest or visitor.")
        }
        valid.roles = roleSet.filter { Customer.RoleKind(rawValue: $0) != nil }.sorted()

        valid.memberNumber = text(memberNumber, "member_number", max: 40)
        if let type = text(memberType, "member_type") {
            if Customer.MemberType(rawValue: type) == nil {
                fail("member_type", "Unknown member type; use one of \(Customer.MemberType.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            valid.memberType = type
        }
        if let status = text(membershipStatus, "membership_status") {
            if Customer.MembershipStatus(rawValue: status) == nil { fail("membership_status", "Use active, ended or suspended.") }
            valid.membershipStatus = status
        }
        if roleSet.contains("member") {
            if valid.memberNumber == nil { fail("member_number", "A member needs the member number of the library system.") }
            if valid.memberType == nil { fail("member_type", "A member needs a member type.") }
            if valid.membershipStatus == nil { valid.membershipStatus = "active" }
        }
        valid.membershipStart = date(membershipStart, "membership_start", notAfterToday: false)
        valid.membershipEnd = date(membershipEnd, "membership_end", notAfterToday: false)
        if let start = valid.membershipStart, let end = valid.membershipEnd, end < start {
            fail("membership_end", "Lies before membership_start.")
        }
        valid.endReason = text(endReason, "end_reason")
        if let fee = subscriptionFeeCents, fee < 0 || fee > 1_000_000 { fail("subscription_fee_cents", "Use 0 to 1000000 cents.") }
        valid.subscriptionFeeCents = subscriptionFeeCents

        valid.firstName = text(firstName, "first_name", max: 100)
        valid.infix = text(infix, "infix", max: 30)
        valid.lastName = text(lastName, "last_name", max: 150)
        valid.birthDate = date(birthDate, "birth_date", notAfterToday: true)
        if let raw = text(email, "email", max: 254) {
            if let address = EmailAddress(raw) { valid.email = address.value } else { fail("email", "Not a valid e-mail address.") }
        }
        if valid.lastName == nil && valid.email == nil { fail("last_name", "Give a last name or an e-mail address.") }
        if let raw = text(phone, "phone", max: 30) {
            let digits = raw.utf8.reduce(0) { count, byte in (0x30...0x39).contains(byte) ? count + 1 : count }
            if !raw.utf8.allSatisfy({ (0x30...0x39).contains($0) || " +-()".utf8.contains($0) }) || !(8...15).contains(digits) {
                fail("phone", "Not a phone number.")
            } else {
                valid.phone = raw
            }
        }
        if let raw = text(postcode, "postcode", max: 10) {
            if let code = Postcode(raw) { valid.postcode = code.value } else { fail("postcode", "Not a Dutch postcode; use 1234 AB.") }
        }
        valid.houseNumber = text(houseNumber, "house_number", max: 10)
        if let number = valid.houseNumber, !(number.utf8.first.map { (0x30...0x39).contains($0) } ?? false) {
            fail("house_number", "Starts with a number.")
        }
        valid.houseNumberAddition = text(houseNumberAddition, "house_number_addition", max: 10)
        valid.street = text(street, "street")
        valid.city = text(city, "city", max: 100)
        valid.municipality = text(municipality, "municipality", max: 100)
        valid.preferredLanguage = text(preferredLanguage, "preferred_language", max: 10)?.lowercased()
        valid.favouriteBranchID = favouriteBranchID
        valid.notes = text(notes, "notes", max: 4000)

        guard errors.isEmpty else { throw .invalid(errors) }
        return valid
    }
}

extension CustomerDraft {
    /// A draft that states the customer as they are, for a form that changes some fields and keeps the rest.
    public init(_ customer: Customer) {
        self.init(roles: customer.roles.map(\.rawValue))
        memberNumber = customer.memberNumber
        memberType = customer.memberType?.rawValue
        membershipStatus = customer.membershipStatus?.rawValue
        membershipStart = customer.membershipStart?.description
        membershipEnd = customer.membershipEnd?.description
        endReason = customer.endReason
        subscriptionFeeCents = customer.subscriptionFeeCents
        firstName = customer.firstName
        infix = customer.infix
        lastName = customer.lastName
        birthDate = customer.birthDate?.description
        email = customer.email
        phone = customer.phone
        postcode = customer.postcode
        houseNumber = customer.houseNumber
        houseNumberAddition = customer.houseNumberAddition
        street = customer.street
        city = customer.city
        municipality = customer.municipality
        preferredLanguage = customer.preferredLanguage
        favouriteBranchID = customer.favouriteBranchID
        genres = customer.genres
        tags = customer.tags
        notes = customer.notes
    }
}
