import Foundation
import KringCore

/// Turns one CSV record of a member export into a validated COPY line, or says what is wrong with it.
///
/// This runs for every row of exports of 100,000 members and more, so it works on bytes where it can and keeps
/// Unicode-aware (and slower) string work for the values that need it.
struct RowReader: Sendable {
    struct RowError: Error {
        let column: String?
        let reason: String
    }

    /// A valid row: the customer fields as validated for any customer, plus what only the export carries.
    struct Row {
        let memberNumber: String
        let valid: CustomerDraft.Valid
        let favouriteBranchID: UUID?
        let lastLoanDate: CalendarDate?
        let loans12m: Int
        let loansTotal: Int
        let fingerprint: Int64
    }

    let encoding: TextEncoding
    let headerNames: [String]
    /// The mapped columns: field and the index of its column, in field order.
    private let mapped: [(field: ImportMapping.Field, column: Int)]
    /// Field ordinal -> index of its column.
    private let columns: [Int?]
    let memberTypes: [String: String]
    let statuses: [String: String]
    let listSeparator: Character
    /// Seeds every row fingerprint: the mapping, the header, the encoding and the branches a row is read with.
    let fingerprintSeed: UInt64

    init(header record: CSVParser.Record, mapping: ImportMapping, encoding: TextEncoding, branches: [String: UUID] = [:]) throws {
        self.encoding = encoding
        var names: [String] = []
        for (position, bytes) in record.fields.enumerated() {
            guard let name = encoding.decode(bytes) else {
                throw ImportError.unreadable("Header column \(position + 1) is not \(encoding.rawValue) text.")
            }
            names.append(name.trimmed())
        }
        headerNames = names
        let byKey = Dictionary(mapping.columns.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        var columns = [Int?](repeating: nil, count: ImportMapping.Field.allCases.count)
        for (position, name) in names.enumerated() {
            if let field = byKey[ImportMapping.key(name)], columns[field.ordinal] == nil { columns[field.ordinal] = position }
        }
        guard columns[ImportMapping.Field.memberNumber.ordinal] != nil else {
            throw ImportError.unreadable("No column maps to member_number; the header has: \(names.joined(separator: ", ")).")
        }
        self.columns = columns
        mapped = ImportMapping.Field.allCases.compactMap { field in columns[field.ordinal].map { (field, $0) } }
        memberTypes = Dictionary(mapping.memberTypes.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        statuses = Dictionary(mapping.statuses.map { (ImportMapping.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        listSeparator = mapping.listSeparator?.first ?? "|"

        var seed = FNV1a()
        seed.add(Array("kring-member-row-v1".utf8))
        seed.add(Array(encoding.rawValue.utf8))
        for (field, column) in mapped {
            seed.add(Array(field.rawValue.utf8))
            seed.add(Array(names[column].utf8))
        }
        for (key, value) in memberTypes.sorted(by: { $0.key < $1.key }) { seed.add(Array("\(key)=\(value)".utf8)) }
        for (key, value) in statuses.sorted(by: { $0.key < $1.key }) { seed.add(Array("\(key)=\(value)".utf8)) }
        seed.add(Array(String(listSeparator).utf8))
        for (name, id) in branches.sorted(by: { $0.key < $1.key }) { seed.add(Array("\(name)=\(id)".utf8)) }
        fingerprintSeed = seed.value
    }

    func column(for field: ImportMapping.Field) -> String? {
        columns[field.ordinal].map { headerNames[$0] }
    }

    /// The member number of a record whose field count fits the header, trimmed; nil when absent or unreadable.
    func memberNumber(of record: CSVParser.Record) -> String? {
        guard record.count == headerNames.count, let column = columns[ImportMapping.Field.memberNumber.ordinal],
            let text = encoding.decode(record[column])?.trimmed(), !text.isEmpty
        else { return nil }
        return text
    }

    /// A fingerprint of the record's mapped values as they stand in the file, for spotting unchanged rows.
    func fingerprint(of record: CSVParser.Record) -> Int64 {
        var hash = FNV1a(seed: fingerprintSeed)
        for (_, column) in mapped where column < record.count {
            hash.add(record[column])
        }
        return Int64(bitPattern: hash.value)
    }

    func read(_ record: CSVParser.Record, today: CalendarDate, branches: [String: UUID]) -> Result<Row, RowError> {
        if record.count != headerNames.count {
            return .failure(RowError(column: nil, reason: "The row has \(record.count) fields; the header has \(headerNames.count)."))
        }
        var values = [String?](repeating: nil, count: ImportMapping.Field.allCases.count)
        for (field, position) in mapped {
            guard let text = encoding.decode(record[position]) else {
                return .failure(RowError(column: headerNames[position], reason: "Not \(encoding.rawValue) text."))
            }
            let trimmed = text.trimmed()
            if !trimmed.isEmpty { values[field.ordinal] = trimmed }
        }
        func value(_ field: ImportMapping.Field) -> String? { values[field.ordinal] }

        var draft = CustomerDraft(roles: ["member"])
        draft.memberNumber = value(.memberNumber)
        draft.memberType = value(.memberType).map { memberTypes[ImportMapping.key($0)] ?? ImportMapping.key($0) }
        draft.membershipStatus = value(.membershipStatus).map { statuses[ImportMapping.key($0)] ?? ImportMapping.key($0) }
        draft.membershipStart = value(.membershipStart)
        draft.membershipEnd = value(.membershipEnd)
        draft.endReason = value(.endReason)
        draft.firstName = value(.firstName)
        draft.infix = value(.infix)
        draft.lastName = value(.lastName)
        draft.birthDate = value(.birthDate)
        draft.email = value(.email)
        draft.phone = value(.phone)
        draft.postcode = value(.postcode)
        draft.houseNumber = value(.houseNumber)
        draft.houseNumberAddition = value(.houseNumberAddition)
        draft.street = value(.street)
        draft.city = value(.city)
        draft.municipality = value(.municipality)
        draft.preferredLanguage = value(.preferredLanguage)
        draft.genres = value(.genres).map { $0.split(separator: listSeparator).map { String($0) } }

        var errors: [RowError] = []
        if let fee = value(.subscriptionFee) {
            if let cents = Self.cents(fee) {
                draft.subscriptionFeeCents = cents
            } else {
                errors.append(RowError(column: column(for: .subscriptionFee), reason: "Not an amount in euros (e.g. 42,50)."))
            }
        }
        var branchID: UUID?
        if let branch = value(.favouriteBranch) {
            branchID = branches[ImportMapping.key(branch)]
            if branchID == nil { errors.append(RowError(column: column(for: .favouriteBranch), reason: "Unknown branch '\(branch)'.")) }
        }
        var lastLoan: CalendarDate?
        if let raw = value(.lastLoanDate) {
            lastLoan = CalendarDate(raw)
            if lastLoan == nil {
                errors.append(RowError(column: column(for: .lastLoanDate), reason: "Not a date; use DD-MM-YYYY or YYYY-MM-DD."))
            } else if let date = lastLoan, date > today {
                errors.append(RowError(column: column(for: .lastLoanDate), reason: "Cannot lie in the future."))
            }
        }
        func count(_ field: ImportMapping.Field) -> Int {
            guard let raw = value(field) else { return 0 }
            guard let number = Int(raw), number >= 0 else {
                errors.append(RowError(column: column(for: field), reason: "Not a whole number of loans."))
                return 0
            }
            return number
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
        guard let memberNumber = valid.memberNumber else {
            return .failure(RowError(column: column(for: .memberNumber), reason: "No member number."))
        }

        return .success(
            Row(
                memberNumber: memberNumber, valid: valid, favouriteBranchID: branchID, lastLoanDate: lastLoan,
                loans12m: loans12m, loansTotal: loansTotal, fingerprint: fingerprint(of: record)))
    }

    /// A PostgreSQL array literal of genre names: letters, digits, spaces and hyphens only.
    static func arrayLiteral(_ genres: [String]) -> String {
        func plain(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x2D || (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        let cleaned = genres.map { genre in
            genre.utf8.allSatisfy(plain) ? genre : String(genre.filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" })
        }.filter { !$0.isEmpty }
        return "{" + cleaned.map { "\"\($0)\"" }.joined(separator: ",") + "}"
    }

    /// "42,50", "42.50", "€ 42,50", "42" -> cents; at most two decimals, below 100,000 euros.
    static func cents(_ raw: String) -> Int? {
        var euros = 0
        var decimals = -1
        var cents = 0
        var digits = 0
        for scalar in raw.unicodeScalars {
            switch scalar {
            case "0"..."9":
                let digit = Int(scalar.value - 0x30)
                if decimals < 0 {
                    euros = euros * 10 + digit
                    digits += 1
                    if digits > 5 { return nil }
                } else {
                    decimals += 1
                    guard decimals <= 2 else { return nil }
                    cents = cents * 10 + digit
                }
            case ",", ".":
                guard decimals < 0, digits > 0 else { return nil }
                decimals = 0
            case "€", " ", "\u{00A0}":
                continue
            default:
                return nil
            }
        }
        guard digits > 0 else { return nil }
        if decimals == 1 { cents *= 10 }
        return euros * 100 + cents
    }
}

/// One line of PostgreSQL's COPY text format, built in bytes: tab-separated, `\N` for NULL, backslash, tab, newline
/// and carriage return escaped.
struct CopyLine {
    private var bytes: [UInt8] = []
    private var first = true

    init() { bytes.reserveCapacity(320) }

    mutating func append(_ value: String?) {
        if first { first = false } else { bytes.append(0x09) }
        guard let value else {
            bytes.append(contentsOf: [0x5C, 0x4E])
            return
        }
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            bytes.append(contentsOf: utf8)
            return
        }
        for byte in utf8 {
            switch byte {
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            default: bytes.append(byte)
            }
        }
    }

    /// A UUID in its lowercase text form.
    mutating func append(_ id: UUID?) {
        guard let id else { return append(nil as String?) }
        if first { first = false } else { bytes.append(0x09) }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        withUnsafeBytes(of: id.uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { bytes.append(0x2D) }
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    consuming func finish() -> [UInt8] {
        bytes.append(0x0A)
        return bytes
    }
}

/// 64-bit FNV-1a over length-prefixed byte strings: a fast, stable fingerprint (not a security measure).
struct FNV1a {
    private(set) var value: UInt64

    init(seed: UInt64 = 0xcbf2_9ce4_8422_2325) { value = seed }

    mutating func add(_ bytes: some Collection<UInt8>) {
        var hash = value
        var length = UInt32(truncatingIfNeeded: bytes.count)
        for _ in 0..<4 {
            hash = (hash ^ UInt64(length & 0xFF)) &* 0x100_0000_01b3
            length >>= 8
        }
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        value = hash
    }
}

extension ImportMapping.Field {
    /// The field's place in `allCases`, for arrays indexed by field.
    var ordinal: Int {
        switch self {
        case .memberNumber: 0
        case .memberType: 1
        case .membershipStatus: 2
        case .membershipStart: 3
        case .membershipEnd: 4
        case .endReason: 5
        case .subscriptionFee: 6
        case .firstName: 7
        case .infix: 8
        case .lastName: 9
        case .birthDate: 10
        case .email: 11
        case .phone: 12
        case .postcode: 13
        case .houseNumber: 14
        case .houseNumberAddition: 15
        case .street: 16
        case .city: 17
        case .municipality: 18
        case .preferredLanguage: 19
        case .favouriteBranch: 20
        case .genres: 21
        case .lastLoanDate: 22
        case .loans12m: 23
        case .loansTotal: 24
        }
    }
}

/// Time-ordered (version 7, RFC 9562) UUIDs for the rows an import creates.
///
/// Ids that grow in creation order are appended at the right edge of the primary key and household indexes instead
/// of landing on random pages, and Foundation's `UUID()` opened /dev/urandom for every id. Within one millisecond a
/// 12-bit counter keeps the order; 62 bits stay random.
struct TimeOrderedUUIDs {
    private var generator = BufferedRandom()
    private var millisecond: UInt64 = 0
    private var sequence: UInt64 = 0

    mutating func next() -> UUID {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        if now > millisecond {
            millisecond = now
            sequence = generator.next() & 0x3FF  // leave room to count up
        } else {
            sequence += 1
            if sequence > 0xFFF {
                millisecond += 1
                sequence = 0
            }
        }
        let high = (millisecond << 16) | 0x7000 | sequence
        let random: UInt64 = generator.next()
        let low = (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &bytes) { raw in
            UUID(
                uuid: (
                    raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                    raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]
                ))
        }
    }
}

/// The system's random source read 4 KiB at a time instead of one system call per number.
struct BufferedRandom {
    private static let source = FileHandle(forReadingAtPath: "/dev/urandom")
    private var buffer: [UInt64] = []
    private var position = 0
    private var system = SystemRandomNumberGenerator()

    mutating func next() -> UInt64 {
        if position == buffer.count {
            if let data = try? Self.source?.read(upToCount: 4096), data.count == 4096 {
                buffer = data.withUnsafeBytes { raw in (0..<512).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
            } else {
                buffer = (0..<512).map { _ in system.next() }
            }
            position = 0
        }
        defer { position += 1 }
        return buffer[position]
    }
}
