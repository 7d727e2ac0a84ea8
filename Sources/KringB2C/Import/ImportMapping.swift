import Foundation
import KringCore

/// Which column of an export feeds which customer field, and how the export spells its values.
///
/// Column names match case-insensitively, ignoring surrounding spaces. `Deploy/mappings/members-default.json`
/// is the default for a typical library-system member export; a library with other headers sends its own.
public struct ImportMapping: Sendable, Codable, Equatable {
    public enum Field: String, Sendable, Codable, CaseIterable {
        case memberNumber = "member_number"
        case memberType = "member_type"
        case membershipStatus = "membership_status"
        case membershipStart = "membership_start"
        case membershipEnd = "membership_end"
        case endReason = "end_reason"
        case subscriptionFee = "subscription_fee"
        case firstName = "first_name"
        case infix
        case lastName = "last_name"
        case birthDate = "birth_date"
        case email, phone, postcode
        case houseNumber = "house_number"
        case houseNumberAddition = "house_number_addition"
        case street, city
        case municipality
        case preferredLanguage = "preferred_language"
        case favouriteBranch = "favourite_branch"
        case genres
        case lastLoanDate = "last_loan_date"
        case loans12m = "loans_12m"
        case loansTotal = "loans_total"
    }

    /// Export column -> field.
    public var columns: [String: Field]
    /// Export value -> member type (`youth`, `adult`, ...); values already in Kring's words need no entry.
    public var memberTypes: [String: String]
    /// Export value -> membership status (`active`, `ended`, `suspended`).
    public var statuses: [String: String]
    /// `utf-8` or `windows-1252`; detected when absent.
    public var encoding: TextEncoding?
    /// `;`, `,` or a tab; detected when absent.
    public var separator: String?
    /// Between values in one cell (genres); default `|`.
    public var listSeparator: String?

    enum CodingKeys: String, CodingKey {
        case columns
        case memberTypes = "member_types"
        case statuses, encoding, separator
        case listSeparator = "list_separator"
    }

    public init(
        columns: [String: Field], memberTypes: [String: String] = [:], statuses: [String: String] = [:],
        encoding: TextEncoding? = nil, separator: String? = nil, listSeparator: String? = nil
    ) {
        self.columns = columns
        self.memberTypes = memberTypes
        self.statuses = statuses
        self.encoding = encoding
        self.separator = separator
        self.listSeparator = listSeparator
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        columns = try container.decode([String: Field].self, forKey: .columns)
        memberTypes = try container.decodeIfPresent([String: String].self, forKey: .memberTypes) ?? [:]
        statuses = try container.decodeIfPresent([String: String].self, forKey: .statuses) ?? [:]
        encoding = try container.decodeIfPresent(TextEncoding.self, forKey: .encoding)
        separator = try container.decodeIfPresent(String.self, forKey: .separator)
        listSeparator = try container.decodeIfPresent(String.self, forKey: .listSeparator)
    }

    static func key(_ text: String) -> String { text.trimmed().lowercased() }

    /// A member export as library systems commonly write it (Dutch headers).
    public static let defaultMembers = ImportMapping(
        columns: [
            "Lenernummer": .memberNumber, "Lenerscategorie": .memberType, "Status": .membershipStatus,
            "Inschrijfdatum": .membershipStart, "Einddatum": .membershipEnd, "Reden uitschrijving": .endReason,
            "Contributie": .subscriptionFee, "Voornaam": .firstName, "Tussenvoegsel": .infix, "Achternaam": .lastName,
            "Geboortedatum": .birthDate, "E-mail": .email, "Telefoon": .phone, "Postcode": .postcode, "Huisnummer": .houseNumber,
            "Toevoeging": .houseNumberAddition, "Straat": .street, "Woonplaats": .city, "Gemeente": .municipality, "Taal": .preferredLanguage,
            "Vestiging": .favouriteBranch, "Genres": .genres, "Laatste uitlening": .lastLoanDate, "Uitleningen 12 maanden": .loans12m,
            "Uitleningen totaal": .loansTotal,
        ],
        memberTypes: [
            "jeugd": "youth", "volwassene": "adult", "volwassen": "adult", "vriend": "friend", "vrienden": "friend", "nt2": "nt2",
            "taalleerder": "nt2", "bibliotheek aan huis": "library_at_home", "digitaal": "digital", "instelling": "institution",
            "overig": "other",
        ],
        statuses: [
            "actief": "active", "beëindigd": "ended", "beeindigd": "ended", "opgezegd": "ended", "geblokkeerd": "suspended", "geschorst": "suspended",
        ])
}
