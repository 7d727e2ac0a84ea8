import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@testable import KringB2C

@Suite struct CSVParserTests {
    func parse(_ text: [UInt8], separator: UInt8 = UInt8(ascii: ";"), chunk: Int = 3) throws -> [CSVParser.Record] {
        var parser = CSVParser(separator: separator)
        var records: [CSVParser.Record] = []
        var offset = 0
        while offset < text.count {
            parser.feed(text[offset..<min(text.count, offset + chunk)]) { records.append($0) }
            offset += chunk
        }
        try parser.finish { records.append($0) }
        return records
    }

    func strings(_ record: CSVParser.Record) -> [String] { record.fields.map { String(decoding: $0, as: UTF8.self) } }

    @Test func quotedSeparatorsQuotesAndLineBreaksAcrossChunks() throws {
        let text = Array("a;b;c\r\n1;\"x;y\";\"he said \"\"hi\"\"\"\r\n\n2;\"two\nlines\";\n3;;last".utf8)
        let records = try parse(text)
        #expect(records.map(strings) == [["a", "b", "c"], ["1", "x;y", "he said \"hi\""], ["2", "two\nlines", ""], ["3", "", "last"]])
        #expect(records.map(\.line) == [1, 2, 4, 6])
    }

    @Test func unterminatedQuoteIsAnError() {
        #expect(throws: CSVParser.UnterminatedQuote(line: 2)) { try parse(Array("a;b\n1;\"open\n".utf8)) }
    }

    @Test func separatorAndEncodingAreDetected() {
        #expect(CSVParser.detectSeparator(Array("Lenernummer;Naam;\"a,b\"\n".utf8)) == UInt8(ascii: ";"))
        #expect(CSVParser.detectSeparator(Array("id,name,\"x;y\"\n".utf8)) == UInt8(ascii: ","))
        #expect(TextEncoding.detect(Array("Zoë".utf8)) == .utf8)
        #expect(TextEncoding.detect([0x5A, 0x6F, 0xEB]) == .windows1252)  // "Zoë" in Windows-1252
        #expect(TextEncoding.windows1252.decode([0x5A, 0x6F, 0xEB, 0x80]) == "Zoë€")
        #expect(TextEncoding.utf8.decode([0x5A, 0x6F, 0xEB]) == nil)
    }

    @Test func shippedDefaultMappingFileEqualsTheBuiltInOne() throws {
        let url = try #require(ProjectFiles.locate("Deploy/mappings/members-default.json"))
        let mapping = try JSONDecoder().decode(ImportMapping.self, from: Data(contentsOf: url))
        #expect(mapping.columns == ImportMapping.defaultMembers.columns)
        #expect(mapping.memberTypes == ImportMapping.defaultMembers.memberTypes)
        #expect(mapping.statuses == ImportMapping.defaultMembers.statuses)
    }
}

@Suite struct MemberImportTests {
    static let now = CustomerTests.now
    static let header =
        "Lenernummer;Lenerscategorie;Voornaam;Tussenvoegsel;Achternaam;Geboortedatum;E-mail;Postcode;Huisnummer;Woonplaats;Inschrijfdatum;Contributie;Vestiging;Laatste uitlening;Uitleningen 12 maanden;Uitleningen totaal\r\n"

    func setUp() async throws -> (TestEnvironment, Tenant) {
        let env = try await TestEnvironment.forSuite("MemberImport")
        let tenant = try await env.createTenant("imp")
        try await env.db.withTenant(tenant) { tx in
            _ = try await Branches.create(BranchDraft(name: "Haarlem Centrum", municipality: "Haarlem"), by: .system, now: Self.now, in: tx)
        }
        return (env, tenant)
    }

    func run(
        _ bytes: [UInt8], _ env: TestEnvironment, _ tenant: Tenant, dryRun: Bool = false, markMissingEnded: Bool = false
    ) async throws -> ImportReport {
        try await MemberImport(dryRun: dryRun, markMissingEnded: markMissingEnded, batchSize: 3)
            .run(BytesImportSource(bytes), by: .system, now: Self.now, db: env.db, tenant: tenant)
    }

    static func file(_ rows: [String]) -> [UInt8] { Array((header + rows.joined(separator: "\r\n") + "\r\n").utf8) }

    static let good = [
        "100001;Volwassene;Anna;van;Dijk;12-04-1980;anna@example.nl;2011 AB;12;Haarlem;01-02-2010;42,50;Haarlem Centrum;01-11-2026;14;180",
        "100002;Jeugd;Daniël;;Visser;2015-06-01;;2011AB;12;Haarlem;2021-09-01;0;haarlem centrum;;0;0",
        "100003;NT2;Fatima;;El Amrani;1990-01-30;fatima@example.nl;2031 CD;5a;Haarlem;15-08-2025;;;20-10-2026;6;9",
        "\"100004\";Vriend;\"Jan\";de;\"Bakker\";03-03-1950;jan@example.nl;2012 EF;1;Haarlem;1-1-1990;35;;;33;400",
    ]

    @Test func goodRowsAreImportedAndEveryBadRowIsReportedWithLineAndReason() async throws {
        let (env, tenant) = try await setUp()
        var bytes = Self.file(
            Self.good + [
                "100005;Volwassene;Piet;;Post;01-01-1970;;12345;1;Haarlem;;;;;0;0",  // line 6: postcode
                "100006;Tovenaar;Kees;;Kok;01-01-1970;;2011 AB;1;Haarlem;;;;;0;0",  // line 7: member type
                "100007;Volwassene;Els;;Eik;31-02-1970;;2011 AB;1;Haarlem;;;;;0;0",  // line 8: date
                "100001;Volwassene;Anna;;Dubbel;01-01-1970;;2011 AB;1;Haarlem;;;;;0;0",  // line 9: duplicate number
                "100008;Volwassene;Mia;;Mol;01-01-1970;;2011 AB;1;Haarlem;;;;",  // line 10: missing column
            ])
        // line 11: a name in Windows-1252 inside a UTF-8 file.
        bytes += Array("100009;Volwassene;".utf8) + [0x5A, 0x6F, 0xEB] + Array(";;Zwart;01-01-1970;;2011 AB;1;Haarlem;;;;;0;0\r\n".utf8)
        let report = try await run(bytes, env, tenant)
        #expect(report.rows == 10)
        #expect(report.inserted == 4)
        #expect(report.rejected == 6)
        #expect(report.encoding == .utf8)
        let byLine = Dictionary(uniqueKeysWithValues: report.errors.map { ($0.line, $0) })
        #expect(byLine[6]?.column == "Postcode")
        #expect(byLine[7]?.column == "Lenerscategorie")
        #expect(byLine[8]?.column == "Geboortedatum")
        #expect(byLine[9]?.reason.contains("first on line 2") == true)
        #expect(byLine[10]?.reason.contains("14 fields") == true)
        #expect(byLine[11]?.column == "Voornaam")

        let anna = try await env.db.withTenant(tenant) { tx in
            try await Customers.search(.init(query: "100001"), by: .system, now: Self.now, in: tx)
        }
        #expect(anna.count == 1)
        #expect(anna.first?.subscriptionFeeCents == 4250)
        #expect(anna.first?.loanSignals.loansTotal == 180)
        #expect(anna.first?.loanSignals.lastLoanDate == CalendarDate(year: 2026, month: 11, day: 1))
        #expect(anna.first?.favouriteBranchID != nil)
        #expect(anna.first?.memberType == .adult)
    }

    @Test func reimportingTheSameFileChangesNothingAndAChangeIsUpdated() async throws {
        let (env, tenant) = try await setUp()
        let first = try await run(Self.file(Self.good), env, tenant)
        #expect(first.inserted == 4)
        let again = try await run(Self.file(Self.good), env, tenant)
        #expect(again.inserted == 0)
        #expect(again.updated == 0)
        #expect(again.unchanged == 4)
        var changed = Self.good
        changed[0] = changed[0].replacingOccurrences(of: ";14;180", with: ";15;181")
        let third = try await run(Self.file(changed), env, tenant)
        #expect(third.updated == 1)
        #expect(third.unchanged == 3)
        let versions = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT member_number, version FROM customers ORDER BY member_number").decode((String, Int).self)
                .reduce(into: [String: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(versions == ["100001": 2, "100002": 1, "100003": 1, "100004": 1])
    }

    @Test func dryRunReportsAndChangesNothing() async throws {
        let (env, tenant) = try await setUp()
        let report = try await run(Self.file(Self.good), env, tenant, dryRun: true)
        #expect(report.dryRun)
        #expect(report.inserted == 4)
        let count = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers").decode(Int.self).reduce(0, +)
        }
        #expect(count == 0)
    }

    @Test func windows1252FileWithBOMlessSeparatorDetection() async throws {
        let (env, tenant) = try await setUp()
        var bytes = Array(Self.header.replacingOccurrences(of: ";", with: ",").utf8)
        bytes += Array("200001,Volwassene,".utf8) + [0x43, 0x6C, 0xE9, 0x6D, 0x65, 0x6E, 0x63, 0x65]  // Clémence
        bytes += Array(",,\"Dijk, van\",01-01-1980,,2011 AB,3,Haarlem,,,,,0,0\r\n".utf8)
        let report = try await run(bytes, env, tenant)
        #expect(report.encoding == .windows1252)
        #expect(report.separator == ",")
        #expect(report.inserted == 1)
        let found = try await env.db.withTenant(tenant) { tx in try await Customers.search(.init(query: "200001"), by: .system, now: Self.now, in: tx)
        }
        #expect(found.first?.firstName == "Clémence")
        #expect(found.first?.lastName == "Dijk, van")
    }

    @Test func membersMissingFromAFullExportAreReportedAndEndedOnlyWhenAsked() async throws {
        let (env, tenant) = try await setUp()
        _ = try await run(Self.file(Self.good), env, tenant)
        let partial = Array(Self.good.prefix(2))
        let reported = try await run(Self.file(partial), env, tenant)
        #expect(reported.missingMembers == 2)
        #expect(reported.missingSample == ["100003", "100004"])
        #expect(reported.markedEnded == 0)
        let ended = try await run(Self.file(partial), env, tenant, markMissingEnded: true)
        #expect(ended.markedEnded == 2)
        let statuses = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT member_number, membership_status FROM customers ORDER BY member_number").decode((String, String).self)
                .reduce(into: [String: String]()) { $0[$1.0] = $1.1 }
        }
        #expect(statuses == ["100001": "active", "100002": "active", "100003": "ended", "100004": "ended"])
    }

    @Test func aGuestWithTheSameEmailBecomesTheMember() async throws {
        let (env, tenant) = try await setUp()
        var guest = CustomerDraft(roles: ["guest"])
        guest.email = "fatima@example.nl"
        guest.lastName = "El Amrani"
        let valid = try guest.validate(today: CustomerTests.today)
        let created = try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: .system, now: Self.now, in: tx) }
        let report = try await run(Self.file(Self.good), env, tenant)
        #expect(report.inserted == 3)
        #expect(report.updated == 1)
        let joined = try await env.db.withTenant(tenant) { tx in try await Customers.read(id: created.id, by: .system, now: Self.now, in: tx) }
        #expect(joined.memberNumber == "100003")
        #expect(joined.roles.map(\.rawValue) == ["guest", "member"])
    }

    @Test func anUnreadableFileChangesNothing() async throws {
        let (env, tenant) = try await setUp()
        await #expect(throws: ImportError.self) { try await run(Array("Naam;Adres\r\nJan;Straat 1\r\n".utf8), env, tenant) }
        await #expect(throws: ImportError.self) { try await run([], env, tenant) }
        await #expect(throws: ImportError.self) { try await run(Self.file(Self.good) + Array("100010;\"open".utf8), env, tenant) }
        let count = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers").decode(Int.self).reduce(0, +)
        }
        #expect(count == 0)
    }

    func fingerprints(_ env: TestEnvironment, _ tenant: Tenant) async throws -> [String: Int64?] {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT member_number, import_hash FROM customers WHERE member_number IS NOT NULL").decode((String, Int64?).self)
                .reduce(into: [String: Int64?]()) { $0[$1.0] = $1.1 }
        }
    }

    @Test func aChangeMadeInKringIsComparedAgainAndTheExportWins() async throws {
        let (env, tenant) = try await setUp()
        _ = try await run(Self.file(Self.good), env, tenant)
        #expect(try await fingerprints(env, tenant).values.allSatisfy { $0 != nil })
        // Staff change a field the export owns: Kring forgets the row's fingerprint, so the import compares it in full.
        try await env.db.withTenant(tenant) { tx in
            try await tx.query("UPDATE customers SET city = 'Elders', version = version + 1 WHERE member_number = '100001'")
        }
        let afterEdit = try await fingerprints(env, tenant)
        #expect(afterEdit["100001"] == .some(nil))
        #expect(afterEdit["100002"] != .some(nil))
        let again = try await run(Self.file(Self.good), env, tenant)
        #expect(again.updated == 1)
        #expect(again.unchanged == 3)
        let city = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT city FROM customers WHERE member_number = '100001'").decode(String.self).reduce("", +)
        }
        #expect(city == "Haarlem")
        #expect(try await fingerprints(env, tenant)["100001"] != .some(nil))
    }

    @Test func aMemberErasedOnRequestIsNotBroughtBackByTheNextImport() async throws {
        let (env, tenant) = try await setUp()
        _ = try await run(Self.file(Self.good), env, tenant)
        try await env.db.withTenant(tenant) { tx in
            let anna = try #require(try await Customers.search(.init(query: "100001"), by: .system, now: Self.now, in: tx).first)
            try await CustomerPrivacy.erase(id: anna.id, by: .system, now: Self.now, in: tx)
        }
        let again = try await run(Self.file(Self.good), env, tenant)
        #expect(again.inserted == 0)
        #expect(again.rejected == 1)
        #expect(again.errors.first?.line == 2)
        #expect(again.errors.first?.reason.contains("erased") == true)
        let annas = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers WHERE first_name = 'Anna' OR member_number = '100001'").decode(Int.self).reduce(
                0, +)
        }
        #expect(annas == 0)
    }

    @Test func anotherMappingRereadsEveryRowAndChangesNoData() async throws {
        let (env, tenant) = try await setUp()
        _ = try await run(Self.file(Self.good), env, tenant)
        let before = try await fingerprints(env, tenant)
        var mapping = ImportMapping.defaultMembers
        mapping.memberTypes["lid"] = "adult"
        let report = try await MemberImport(mapping: mapping, batchSize: 3)
            .run(BytesImportSource(Self.file(Self.good)), by: .system, now: Self.now, db: env.db, tenant: tenant)
        #expect(report.updated == 0)
        #expect(report.unchanged == 4)
        let after = try await fingerprints(env, tenant)
        #expect(Set(after.keys) == Set(before.keys))
        for (number, fingerprint) in after { #expect(fingerprint != nil && fingerprint != before[number], "member \(number)") }
        let versions = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT max(version)::int FROM customers").decode(Int.self).reduce(0, +)
        }
        #expect(versions == 1)
    }

    @Test func customersKeepTheirHouseholdAndBranchReferencesIntact() async throws {
        let (env, tenant) = try await setUp()
        _ = try await run(Self.file(Self.good), env, tenant)
        func sqlState(_ sql: String) async -> String? {
            do {
                try await env.db.withTenant(tenant) { tx in try await tx.query(PostgresQuery(unsafeSQL: sql)) }
                return nil
            } catch let error as PSQLError {
                return error.serverInfo?[.sqlState]
            } catch {
                return "\(error)"
            }
        }
        #expect(await sqlState("UPDATE customers SET household_id = gen_random_uuid() WHERE member_number = '100001'") == "23503")
        #expect(await sqlState("UPDATE customers SET favourite_branch_id = gen_random_uuid() WHERE member_number = '100001'") == "23503")
        #expect(
            await sqlState(
                """
                INSERT INTO customers (id, roles, last_name, household_id, created_at, updated_at)
                VALUES (gen_random_uuid(), '{visitor}', 'Los', gen_random_uuid(), now(), now())
                """) == "23503")
        #expect(await sqlState("DELETE FROM households WHERE id = (SELECT household_id FROM customers WHERE member_number = '100001')") == "23503")
        // A household nobody lives in any more may go.
        #expect(
            await sqlState(
                """
                INSERT INTO households (id, postcode, house_number, house_number_addition, created_at)
                VALUES ('00000000-0000-4000-8000-000000000001', '9999 ZZ', '1', '', now())
                """) == nil)
        #expect(await sqlState("DELETE FROM households WHERE id = '00000000-0000-4000-8000-000000000001'") == nil)
        let branchDelete: String? = await {
            do {
                // Branches are the administrators' (the tenant role may not delete them): the schema owner tries.
                _ = try await env.owner.withConnection { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "DELETE FROM \(tenant.slug.schema.quoted).branches"), logger: env.owner.logger)
                }
                return nil
            } catch let error as PSQLError {
                return error.serverInfo?[.sqlState]
            } catch {
                return "\(error)"
            }
        }()
        #expect(branchDelete == "23503")
    }
}

@Suite struct ImportEncodingTests {
    @Test func fieldOrdinalsFollowTheDeclaredOrder() {
        for (index, field) in ImportMapping.Field.allCases.enumerated() { #expect(field.ordinal == index, "\(field)") }
    }

    @Test func copyLinesEscapeWhatCopyTextFormatNeeds() {
        var line = CopyLine()
        line.append("plain")
        line.append(nil as String?)
        line.append("tab\there\\ and\nnew\rline")
        line.append(UUID(uuidString: "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9"))
        #expect(
            String(decoding: line.finish(), as: UTF8.self)
                == "plain\t\\N\ttab\\there\\\\ and\\nnew\\rline\t0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\n")
    }

    @Test(arguments: [("42,50", 4250), ("42.5", 4250), ("€ 42,50", 4250), ("42", 4200), ("0", 0), ("99999,99", 9_999_999)])
    func amountsInEuros(raw: String, cents: Int) {
        #expect(RowReader.cents(raw) == cents)
    }

    @Test(arguments: ["", "-5", "4,2,1", "42,505", "100000", "12a", ","])
    func notAmounts(raw: String) {
        #expect(RowReader.cents(raw) == nil)
    }

    @Test func importIdsAreVersion7AndGrow() {
        var ids = TimeOrderedUUIDs()
        let made = (0..<5000).map { _ in ids.next() }
        #expect(Set(made).count == made.count)
        for id in made {
            #expect(id.uuid.6 >> 4 == 7)
            #expect(id.uuid.8 >> 6 == 0b10)
        }
        let ordered = made.map { $0.uuidString.lowercased() }
        #expect(ordered == ordered.sorted())
    }
}
