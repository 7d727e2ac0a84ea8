import Foundation
import KringCore

/// Which column of a colleague's list (an Excel sheet saved as CSV) feeds which field, and how the list spells its values.
///
/// Column names match case-insensitively, ignoring surrounding spaces. `Deploy/mappings/organisations-default.json` and
/// `contacts-default.json` hold the defaults for lists with Dutch headers; send your own for other headers.
public struct RelationImportMapping: Sendable, Codable, Equatable {
    public enum Field: String, Sendable, Codable, CaseIterable {
        // Organisations.
        case name, type, status, street
        case houseNumber = "house_number"
        case postcode, city, municipality, website
        case accountOwner = "account_owner"
        case tags, notes
        case parentName = "parent_name"
        case parentPostcode = "parent_postcode"
        // Contacts and their role at an organisation.
        case organisationName = "organisation_name"
        case organisationPostcode = "organisation_postcode"
        case firstName = "first_name"
        case infix
        case lastName = "last_name"
        case email, phone
        case jobTitle = "job_title"
        case dmuRole = "dmu_role"
        case activeFrom = "active_from"
        case activeTo = "active_to"
        case mailingConsent = "mailing_consent"
    }

    /// List column -> field.
    public var columns: [String: Field]
    /// List value -> organisation type code; codes and the library's own type names need no entry.
    public var types: [String: String]
    /// List value -> `prospect`, `active` or `former`.
    public var statuses: [String: String]
    /// List value -> DMU role (`decision_maker`, `advisor`, `gatekeeper`, `user`, `influencer`).
    public var dmuRoles: [String: String]
    /// The consent topic a "mailing consent" column records (default `relations:mailing`).
    public var consentTopic: String?
    /// `utf-8` or `windows-1252`; detected when absent.
    public var encoding: TextEncoding?
    /// `;`, `,` or a tab; detected when absent.
    public var separator: String?
    /// Between values in one cell (tags); default `|`.
    public var listSeparator: String?

    enum CodingKeys: String, CodingKey {
        case columns, types, statuses
        case dmuRoles = "dmu_roles"
        case consentTopic = "consent_topic"
        case encoding, separator
        case listSeparator = "list_separator"
    }

    public init(
        columns: [String: Field], types: [String: String] = [:], statuses: [String: String] = [:], dmuRoles: [String: String] = [:],
        consentTopic: String? = nil, encoding: TextEncoding? = nil, separator: String? = nil, listSeparator: String? = nil
    ) {
        self.columns = columns
        self.types = types
        self.statuses = statuses
        self.dmuRoles = dmuRoles
        self.consentTopic = consentTopic
        self.encoding = encoding
        self.separator = separator
        self.listSeparator = listSeparator
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        columns = try container.decode([String: Field].self, forKey: .columns)
        types = try container.decodeIfPresent([String: String].self, forKey: .types) ?? [:]
        statuses = try container.decodeIfPresent([String: String].self, forKey: .statuses) ?? [:]
        dmuRoles = try container.decodeIfPresent([String: String].self, forKey: .dmuRoles) ?? [:]
        consentTopic = try container.decodeIfPresent(String.self, forKey: .consentTopic)
        encoding = try container.decodeIfPresent(TextEncoding.self, forKey: .encoding)
        separator = try container.decodeIfPresent(String.self, forKey: .separator)
        listSeparator = try container.decodeIfPresent(String.self, forKey: .listSeparator)
    }

    static func key(_ text: String) -> String { text.trimmed().lowercased() }

    static let dutchTypes = [
        "gemeente": "municipality", "basisschool": "primary_school", "po": "primary_school", "primair onderwijs": "primary_school",
        "voortgezet onderwijs": "secondary_school", "vo": "secondary_school", "middelbare school": "secondary_school",
        "kinderopvang": "childcare", "peuteropvang": "childcare", "bso": "childcare", "partner": "partner", "fonds": "fund",
        "vriend": "friend_sponsor", "sponsor": "friend_sponsor", "vriend/sponsor": "friend_sponsor", "verwijzer": "referrer", "overig": "other",
    ]
    static let dutchStatuses = [
        "prospect": "prospect", "actief": "active", "klant": "active", "voormalig": "former", "oud": "former", "inactief": "former",
    ]
    static let dutchRoles = [
        "beslisser": "decision_maker", "besluitvormer": "decision_maker", "beslissingsbevoegd": "decision_maker", "adviseur": "advisor",
        "poortwachter": "gatekeeper", "gatekeeper": "gatekeeper", "gebruiker": "user", "beïnvloeder": "influencer", "beinvloeder": "influencer",
    ]

    /// An organisation list with Dutch headers.
    public static let defaultOrganisations = RelationImportMapping(
        columns: [
            "Naam": .name, "Organisatie": .name, "Type": .type, "Soort": .type, "Status": .status, "Straat": .street, "Adres": .street,
            "Huisnummer": .houseNumber, "Postcode": .postcode, "Plaats": .city, "Woonplaats": .city, "Gemeente": .municipality,
            "Website": .website, "Accountmanager": .accountOwner, "Accounthouder": .accountOwner, "Tags": .tags, "Labels": .tags,
            "Notities": .notes, "Opmerkingen": .notes, "Bovenliggende organisatie": .parentName, "Schoolbestuur": .parentName,
            "Postcode bovenliggende organisatie": .parentPostcode, "Postcode schoolbestuur": .parentPostcode,
        ],
        types: dutchTypes, statuses: dutchStatuses)

    /// A contact list with Dutch headers: one row per person and organisation.
    public static let defaultContacts = RelationImportMapping(
        columns: [
            "Organisatie": .organisationName, "Postcode organisatie": .organisationPostcode, "Postcode": .organisationPostcode,
            "Voornaam": .firstName, "Tussenvoegsel": .infix, "Achternaam": .lastName, "E-mail": .email, "E-mailadres": .email,
            "Telefoon": .phone, "Functie": .jobTitle, "Rol": .dmuRole, "DMU-rol": .dmuRole, "Actief vanaf": .activeFrom,
            "In functie sinds": .activeFrom,
            "Actief tot": .activeTo, "Uit functie": .activeTo, "Toestemming relatiemailing": .mailingConsent, "Notities": .notes,
            "Opmerkingen": .notes,
        ],
        dmuRoles: dutchRoles)
}
