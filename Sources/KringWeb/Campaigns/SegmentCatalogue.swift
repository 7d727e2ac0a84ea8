import Foundation
import KringB2C
import KringCampaigns
import KringCore

/// What the segment builder offers, in Dutch: the customer fields of the compiler's catalogue with only the
/// operators each takes, and the values the library's own data gives (branches, member types, lists, activity
/// categories). The builder script reads it as JSON; the compiler stays the judge of every rule.
struct SegmentCatalogue: Sendable, Encodable {
    struct Option: Sendable, Encodable {
        let value: String
        let label: String
    }

    struct Operator: Sendable, Encodable {
        let op: String
        let label: String
        /// What the value is: none, number, numbers (a list), range (two numbers), date, dates (two), days,
        /// choice, choices, text, texts (a list), flag, activity, campaign.
        let input: String
        /// A word after the value ("jaar", "dagen").
        let unit: String
    }

    struct Field: Sendable, Encodable {
        let name: String
        let label: String
        let group: String
        let operators: [Operator]
        let options: [Option]
    }

    let fields: [Field]
    /// Activity categories, for the activity fields' filter.
    let categories: [Option]
    /// Data for the library's branches, for the activity fields' filter.
    let branches: [Option]

    /// Labels and groups of the customer fields, in the order the builder lists them.
    static let labels: [(name: String, label: String, group: String, unit: String)] = [
        ("age", "Leeftijd", "Persoon", "jaar"),
        ("birth_date", "Geboortedatum", "Persoon", ""),
        ("household_youth_age", "Kind in het huishouden, leeftijd", "Persoon", "jaar"),
        ("municipality", "Gemeente", "Persoon", ""),
        ("postcode", "Postcode", "Persoon", ""),
        ("postcode_area", "Postcodegebied (4 cijfers)", "Persoon", ""),
        ("mosaic_segment", "Mosaic-segment (van de postcode)", "Persoon", ""),
        ("mosaic_subsegment", "Mosaic-subsegment (van de postcode)", "Persoon", ""),
        ("roles", "Soort klant", "Lidmaatschap", ""),
        ("member_type", "Abonnement", "Lidmaatschap", ""),
        ("membership_status", "Lidmaatschap", "Lidmaatschap", ""),
        ("membership_years", "Jaren lid", "Lidmaatschap", "jaar"),
        ("membership_start", "Lid sinds", "Lidmaatschap", ""),
        ("membership_end", "Lidmaatschap eindigt", "Lidmaatschap", ""),
        ("favourite_branch", "Vestiging", "Lidmaatschap", ""),
        ("loans_12m", "Leningen in de laatste 12 maanden", "Lenen", ""),
        ("loans_total", "Leningen in totaal", "Lenen", ""),
        ("last_loan_date", "Laatste lening", "Lenen", ""),
        ("days_since_last_loan", "Dagen sinds de laatste lening", "Lenen", "dagen"),
        ("never_borrowed", "Nooit geleend", "Lenen", ""),
        ("genres", "Genres", "Lenen", ""),
        ("consent", "Toestemming", "Contact", ""),
        ("tags", "Labels", "Contact", ""),
        ("complaint_open", "Open klacht", "Contact", ""),
        ("activity_registered", "Aangemeld voor een activiteit", "Activiteiten", ""),
        ("activity_attended", "Aanwezig bij een activiteit", "Activiteiten", ""),
        ("evaluation_score", "Cijfer in een evaluatie", "Activiteiten", ""),
        ("campaign_received", "Campagne ontvangen", "Campagnes", ""),
        ("campaign_opened", "Campagne geopend", "Campagnes", ""),
        ("campaign_clicked", "Campagne aangeklikt", "Campagnes", ""),
    ]

    static let operatorLabels: [SegmentOperator: String] = [
        .equal: "is", .notEqual: "is niet", .less: "kleiner dan", .lessOrEqual: "hoogstens", .greater: "groter dan",
        .greaterOrEqual: "minstens", .between: "tussen", .in: "een van", .contains: "bevat", .isEmpty: "is leeg",
        .withinLastDays: "in de afgelopen", .withinNextDays: "in de komende", .anniversaryInDays: "verjaart over", .exists: "ja, met",
    ]
    static let dateOperatorLabels: [SegmentOperator: String] = [
        .equal: "op", .notEqual: "niet op", .less: "vóór", .lessOrEqual: "op of vóór", .greater: "na", .greaterOrEqual: "op of na",
    ]

    static let membershipStatusNames: [Customer.MembershipStatus: String] = [.active: "actief", .ended: "beëindigd", .suspended: "geschorst"]
    static let roleNames: [Customer.RoleKind: String] = [.member: "lid", .guest: "gast", .visitor: "bezoeker"]

    /// The catalogue with the library's own values.
    static func make(
        branches: [Branch], topics: [(String, String)], categories: [String],
        mosaic: (segments: [(code: String, name: String)], subsegments: [(code: String, name: String)]) = ([], [])
    ) -> SegmentCatalogue {
        let branchOptions = branches.map { Option(value: $0.id.uuidString.lowercased(), label: $0.name) }
        let fields = labels.compactMap { entry -> Field? in
            guard let field = SegmentField.catalogue[entry.name] else { return nil }
            var options: [Option] = []
            switch entry.name {
            case "member_type":
                options = Customer.MemberType.allCases.map { Option(value: $0.rawValue, label: CustomerPages.memberTypeNames[$0] ?? $0.rawValue) }
            case "membership_status":
                options = Customer.MembershipStatus.allCases.map { Option(value: $0.rawValue, label: membershipStatusNames[$0] ?? $0.rawValue) }
            case "roles": options = Customer.RoleKind.allCases.map { Option(value: $0.rawValue, label: roleNames[$0] ?? $0.rawValue) }
            case "favourite_branch": options = branchOptions
            case "consent": options = topics.map { Option(value: $0.0, label: $0.1) }
            case "mosaic_segment": options = mosaic.segments.map { Option(value: $0.code, label: "\($0.code) \($0.name)") }
            case "mosaic_subsegment": options = mosaic.subsegments.map { Option(value: $0.code, label: "\($0.code) \($0.name)") }
            default: break
            }
            let operators = field.operators.map { op in
                Operator(
                    op: op.rawValue, label: label(op, field: field), input: input(op, field: field, hasOptions: !options.isEmpty),
                    unit: unit(op, field: field, unit: entry.unit))
            }
            return Field(name: entry.name, label: entry.label, group: entry.group, operators: operators, options: options)
        }
        return SegmentCatalogue(
            fields: fields, categories: categories.map { Option(value: $0, label: $0) }, branches: branchOptions)
    }

    static func label(_ op: SegmentOperator, field: SegmentField) -> String {
        if case .date = field.kind, let word = dateOperatorLabels[op] { return word }
        if case .flag = field.kind { return "is" }
        return operatorLabels[op] ?? op.rawValue
    }

    static func input(_ op: SegmentOperator, field: SegmentField, hasOptions: Bool) -> String {
        switch (field.kind, op) {
        case (_, .isEmpty): "none"
        case (.flag, _): "flag"
        case (.activity, _): "activity"
        case (.campaignEvent, _): "campaign"
        case (.date, .between): "dates"
        case (.date, .withinLastDays), (.date, .withinNextDays), (.date, .anniversaryInDays): "days"
        case (.date, _): "date"
        case (_, .between): "range"
        case (.number, .in), (.elapsed, .in), (.evaluationScore, .in): "numbers"
        case (.number, _), (.elapsed, _), (.evaluationScore, _): "number"
        case (_, .in): hasOptions ? "choices" : "texts"
        default: hasOptions ? "choice" : "text"
        }
    }

    static func unit(_ op: SegmentOperator, field: SegmentField, unit: String) -> String {
        switch op {
        case .withinLastDays, .withinNextDays, .anniversaryInDays: "dagen"
        case .isEmpty: ""
        default: unit
        }
    }

    /// The compiler's message for a rule, in Dutch, for the node it concerns.
    static func dutch(_ message: String) -> String {
        let exact: [String: String] = [
            "Give at least one rule.": "Voeg minstens één voorwaarde toe.",
            "Give true or false.": "Kies ja of nee.",
            "Give a text of 1 to 200 characters.": "Vul een tekst in van hoogstens 200 tekens.",
            "Give an id.": "Kies een waarde uit de lijst.",
            "Give a date as YYYY-MM-DD.": "Vul een datum in.",
            "Give [low, high].": "Vul beide grenzen in.",
            "The low end must not be above the high end.": "De ondergrens ligt boven de bovengrens.",
            "Give [from, to] as YYYY-MM-DD.": "Vul beide datums in.",
            "The start must not be after the end.": "De begindatum ligt na de einddatum.",
            "Give a list of 1 to 1000 values.": "Kies of vul minstens één waarde in (hoogstens 1.000).",
            "is_empty takes no value.": "‘Is leeg’ heeft geen waarde.",
        ]
        if let dutch = exact[message] { return dutch }
        if let match = message.firstMatch(of: /^Give a whole number from 0 to (\d+)\.$/), let maximum = Int(match.output.1) {
            return "Vul een heel getal in van 0 tot en met \(Dutch.number(maximum))."
        }
        if let match = message.firstMatch(of: /^Use at most (\d+) conditions\.$/) { return "Gebruik hoogstens \(match.output.1) voorwaarden." }
        if let match = message.firstMatch(of: /^Nest rules at most (\d+) deep\.$/) { return "Nest groepen hoogstens \(match.output.1) diep." }
        if message.hasPrefix("Use one of") { return "Kies een waarde uit de lijst." }
        if message.hasPrefix("Unknown field") { return "Kies een veld uit de lijst." }
        if message.hasPrefix("Give an object") || message.hasPrefix("Unknown filter") { return "Kies de filters uit de lijst." }
        if message.contains(" takes ") { return "Kies een vergelijking uit de lijst." }
        return "Deze voorwaarde klopt niet: \(message)"
    }
}
