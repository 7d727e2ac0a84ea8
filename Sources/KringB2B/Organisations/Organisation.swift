import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// A business relation: a municipality, a school, a childcare centre, a partner, a fund, a sponsor, a referrer.
public struct Organisation: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable { case prospect, active, former }

    public let id: UUID
    public let version: Int
    public var name: String
    /// A built-in type code (`primary_school`, ...) or one of the library's own.
    public var type: String
    public var status: Status
    public var parentID: UUID?
    public var street: String?
    public var houseNumber: String?
    public var postcode: String?
    public var city: String?
    public var municipality: String?
    public var website: String?
    public var accountOwnerUserID: UUID?
    public var tags: [String]
    public var notes: String?
    public let createdAt: Date
    public var updatedAt: Date

    static let columns = """
        o.id, o.version, o.name, o.type, o.status, o.parent_id, o.street, o.house_number, o.postcode, o.city, o.municipality,
        o.website, o.account_owner_user_id, o.tags, o.notes, o.created_at, o.updated_at
        """

    init(row: PostgresRow) throws {
        let c = row.makeRandomAccess()
        id = try c[0].decode(UUID.self)
        version = try c[1].decode(Int.self)
        name = try c[2].decode(String.self)
        type = try c[3].decode(String.self)
        status = try c[4].decodeEnum(Status.self)
        parentID = try c[5].decode(UUID?.self)
        street = try c[6].decode(String?.self)
        houseNumber = try c[7].decode(String?.self)
        postcode = try c[8].decode(String?.self)
        city = try c[9].decode(String?.self)
        municipality = try c[10].decode(String?.self)
        website = try c[11].decode(String?.self)
        accountOwnerUserID = try c[12].decode(UUID?.self)
        tags = try c[13].decode([String].self)
        notes = try c[14].decode(String?.self)
        createdAt = try c[15].decode(Date.self)
        updatedAt = try c[16].decode(Date.self)
    }
}

/// What staff or the import send to create or replace an organisation, before validation.
public struct OrganisationDraft: Sendable, Decodable, Equatable {
    public var name: String?
    public var type: String?
    public var status: String?
    public var parentID: UUID?
    public var street: String?
    public var houseNumber: String?
    public var postcode: String?
    public var city: String?
    public var municipality: String?
    public var website: String?
    public var accountOwnerUserID: UUID?
    public var tags: [String]?
    public var notes: String?

    enum CodingKeys: String, CodingKey {
        case name, type, status
        case parentID = "parent_id"
        case street
        case houseNumber = "house_number"
        case postcode, city, municipality, website
        case accountOwnerUserID = "account_owner_user_id"
        case tags, notes
    }

    public init(name: String?, type: String?, status: String? = nil) {
        self.name = name
        self.type = type
        self.status = status
    }

    /// A draft that passed validation: normalised values ready for SQL.
    public struct Valid: Sendable, Equatable {
        public var name: String
        public var type: String
        public var status: Organisation.Status
        public var parentID: UUID?
        public var street: String?
        public var houseNumber: String?
        public var postcode: String?
        public var city: String?
        public var municipality: String?
        public var website: String?
        public var accountOwnerUserID: UUID?
        public var tags: [String]
        public var notes: String?
    }

    public func validate() throws(RelationsError) -> Valid {
        var v = Validator()
        let name = v.required(name, "name")
        let type = v.required(type, "type", max: 40).lowercased()
        if !type.isEmpty && type.range(of: "^[a-z][a-z0-9_]{1,39}$", options: .regularExpression) == nil {
            v.fail("type", "Use a type code such as primary_school or municipality.")
        }
        let status: Organisation.Status? = v.choice(status, "status", fallback: .active)
        var valid = Valid(name: name, type: type, status: status ?? .active, tags: v.list(tags, "tags"))
        valid.parentID = parentID
        valid.street = v.text(street, "street")
        valid.houseNumber = v.text(houseNumber, "house_number", max: 10)
        if let number = valid.houseNumber, !(number.first?.isNumber ?? false) { v.fail("house_number", "Starts with a number.") }
        valid.postcode = v.postcode(postcode, "postcode")
        valid.city = v.text(city, "city", max: 100)
        valid.municipality = v.text(municipality, "municipality", max: 100)
        if let raw = v.text(website, "website", max: 300) {
            let url = raw.lowercased().hasPrefix("http://") || raw.lowercased().hasPrefix("https://") ? raw : "https://" + raw
            if let parsed = URL(string: url), let host = parsed.host, host.contains(".") {
                valid.website = url
            } else {
                v.fail("website", "Not a web address.")
            }
        }
        valid.accountOwnerUserID = accountOwnerUserID
        valid.notes = v.text(notes, "notes", max: 4000)
        try v.check()
        return valid
    }
}

/// An organisation named in another's view: a parent or a child.
public struct OrganisationRef: Sendable, Codable, Equatable {
    public let id: UUID
    public let name: String
    public let type: String
    public let status: Organisation.Status
}

/// A type of organisation: built in, or one of the library's own.
public struct OrganisationType: Sendable, Codable, Equatable {
    public let code: String
    public let name: String
    public let builtIn: Bool
}
