import Foundation
import KringCore

/// Turns one CSV record of a member export into a validated COPY line, or says what is wrong with it.
struct RowReader: Sendable {
    struct RowError: Error {
        let column: String?
        let reason: String
    }

    struct Row {
        let memberNumber: String
        /// The row in PostgreSQL's COPY text format, staging table column order, ending in a newline.
        let copyLine: String
    }

    let encoding: TextEncoding
    let headerNames: [String]
    /// Field -> index of its column.
    let index: [ImportMapping.Field: Int]
    let mapping: ImportMapping
    let memberTypes: [String: String]
    let statuses: [String: String]
    let listSeparator: Character

    init(header record: CSVParser.Record, mapping: ImportMapping, encoding: TextEncoding) throws {
        self.encoding = encoding
        self.mapping = mapping
        var names: [String] = []
        for (position, bytes) in record.fields.enumerated() {
            guard let name = encoding.decode(bytes) else { throw ImportError.unreadable("Header column \(position + 1) is not \(encoding.rawValue) text.") }
            names.append(name.trimmed())
        }
        headerNames = names
        let byKey = Dictionary(mapping.columns.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        var index: [ImportMapping.Field: Int] = [:]
        for (position, name) in names.enumerated() {
            if let field = byKey[ImportMapping.key(name)], index[field] == nil { index[field] = position }
        }
        guard index[.memberNumber] != nil else {
            throw ImportError.unreadable("No column maps to member_number; the header has: \(names.joined(separator: ", ")).")
        }
        self.index = index
        memberTypes = Dictionary(mapping.memberTypes.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        statuses = Dictionary(mapping.statuses.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        listSeparator = mapping.listSeparator?.first ?? "|"
    }

    func column(for field: ImportMapping.Field) -> String? {
        index[field].map { headerNames[$0] }
    }

    func read(_ record: CSVParser.Record, today: CalendarDate, branches: [String: UUID]) -> Result<Row, RowError> {
        if record.fields.count != headerNames.count {
            return .failure(RowError(column: nil, reason: "The row has \(record.fields.count) fields; the header has \(headerNames.count)."))
        }
        var values: [ImportMapping.Field: String] = [:]
        for (field, position) in index {
            guard let text = encoding.decode(record.fields[position]) else {
                return .failure(RowError(column: headerNames[position], reason: "Not \(encoding.rawValue) text."))
            }
            let trimmed = text.trimmed()
            if !trimmed.isEmpty { values[field] = trimmed }
        }

        var draft = CustomerDraft(roles: ["member"])
        draft.memberNumber = values[.memberNumber]
        draft.memberType = values[.memberType].map { memberTypes[ImportMapping.key($0)] ?? ImportMapping.key($0) }
        draft.membershipStatus = values[.membershipStatus].map { statuses[ImportMapping.key($0)] ?? ImportMapping.key($0) }
        draft.membershipStart = values[.membershipStart]
        draft.membershipEnd = values[.membershipEnd]
        draft.endReason = values[.endReason]
        draft.firstName = values[.firstName]
        draft.infix = values[.infix]
        draft.lastName = values[.lastName]
        draft.birthDate = values[.birthDate]
        draft.email = values[.email]
        draft.phone = values[.phone]
        draft.postcode = values[.postcode]
        draft.houseNumber = values[.houseNumber]
        draft.houseNumberAddition = values[.houseNumberAddition]
        draft.street = values[.street]
        draft.city = values[.city]
        draft.municipality = values[.municipality]
        draft.preferredLanguage = values[.preferredLanguage]
        draft.genres = values[.genres].map { $0.split(separator: listSeparator).map { String($0) } }

        var errors: [RowError] = []
        if let fee = values[.subscriptionFee] {
            if let cents = Self.cents(fee) { draft.subscriptionFeeCents = cents } else {
                errors.append(RowError(column: column(for: .subscriptionFee), reason: "Not an amount in euros (e.g. 42,50)."))
            }
        }
        var branchID: UUID?
        if let branch = values[.favouriteBranch] {
            branchID = branches[ImportMapping.key(branch)]
            if branchID == nil { errors.append(RowError(column: column(for: .favouriteBranch), reason: "Unknown branch '\(branch)'.")) }
        }
        var lastLoan: CalendarDate?
        if let raw = values[.lastLoanDate] {
            lastLoan = CalendarDate(raw)
            if lastLoan == nil { errors.append(RowError(column: column(for: .lastLoanDate), reason: "Not a date; use DD-MM-YYYY or YYYY-MM-DD.")) }
            else if let date = lastLoan, date > today { errors.append(RowError(column: column(for: .lastLoanDate), reason: "Cannot lie in the future.")) }
        }
        func count(_ field: ImportMapping.Field) -> Int {
            guard let raw = values[field] else { return 0 }
            guard let value = Int(raw), value >= 0 else {
                errors.append(RowError(column: column(for: field), reason: "Not a whole number of loans."))
                return 0
            }
            return value
        }
        let loans12m = count(.loans12m)
        let loansTotal = count(.loansTotal)

        let valid: CustomerDraft.Valid
        do {
            valid = try draft.validate(today: today)
        } catch {
            if case .invalid(let fieldErrors) = error {
                for fieldError in fieldErrors {
                    let field = ImportMapping.Field(rawValue: fieldError.field.split(separator: "[").first.map(String.init) ?? fieldError.field)
                    errors.append(RowError(column: field.flatMap(column(for:)) ?? fieldError.field, reason: fieldError.message))
                }
            } else {
                errors.append(RowError(column: nil, reason: "Invalid row."))
            }
            return .failure(errors.first ?? RowError(column: nil, reason: "Invalid row."))
        }
        if let first = errors.first { return .failure(first) }
        guard let memberNumber = valid.memberNumber else { return .failure(RowError(column: column(for: .memberNumber), reason: "No member number.")) }

        let genres = valid.genres.map { $0.filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" } }.filter { !$0.isEmpty }
        let fields: [String?] = [
            memberNumber, valid.memberType, valid.membershipStatus, valid.membershipStart?.description, valid.membershipEnd?.description,
            valid.endReason, valid.subscriptionFeeCents.map(String.init), valid.firstName, valid.infix, valid.lastName,
            valid.birthDate?.description, valid.email, valid.phone, valid.postcode, valid.houseNumber, valid.houseNumberAddition,
            valid.street, valid.city, valid.municipality, valid.preferredLanguage, branchID?.uuidString.lowercased(),
            "{" + genres.map { "\"\($0)\"" }.joined(separator: ",") + "}", lastLoan?.description, String(loans12m), String(loansTotal),
        ]
        let line = fields.map { $0.map(Self.copyEscape) ?? "\\N" }.joined(separator: "\t") + "\n"
        return .success(Row(memberNumber: memberNumber, copyLine: line))
    }

    /// "42,50", "42.50", "€ 42,50", "42" -> cents.
    static func cents(_ raw: String) -> Int? {
        let cleaned = raw.replacingOccurrences(of: "€", with: "").trimmed().replacingOccurrences(of: ",", with: ".")
        guard let value = Decimal(string: cleaned), value >= 0, value < 100_000 else { return nil }
        return NSDecimalNumber(decimal: value * 100).rounding(accordingToBehavior: nil).intValue
    }

    /// COPY text format: backslash, tab, newline and carriage return are escaped.
    static func copyEscape(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "\r" }) else { return text }
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
