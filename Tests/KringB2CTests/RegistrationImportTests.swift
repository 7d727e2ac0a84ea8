import Foundation
import KringCore
import KringDatabase
import KringTestSupport
import Testing

@testable import KringB2C

@Suite struct RegistrationImportTests {
    static let now = CustomerTests.now
    static let header =
        "Ticketnummer;Evenement-ID;Evenement;Datum;Aanvang;Categorie;Locatie;Voornaam;Tussenvoegsel;Achternaam;E-mail;Pasnummer;Prijs;Status;Besteldatum\r\n"
    static let good = [
        // line 2: a member, found by member number (the e-mail differs from Kring's)
        "T1;E100;Voorleesuurtje;05-12-2026;10:00;jeugd;Haarlem Centrum;Anna;van;Dijk;anders@example.nl;100001;0;betaald;20-11-2026",
        // line 3: a visitor Kring knows by e-mail
        "T2;E100;Voorleesuurtje;05-12-2026;10:00;jeugd;Haarlem Centrum;Kees;;Kok;KEES@example.nl;;0;betaald;21-11-2026",
        // line 4: a new activity and a new guest
        "T3;E200;Schrijfcursus;12-12-2026;19:30;cursus;Haarlem Centrum;Lotte;;Smit;lotte@example.nl;;25,00;gescand;22-11-2026",
        // line 5: the same buyer again, another ticket: the same guest
        "T4;E300;Lezing Multatuli;2026-12-14;20:00;lezing;;Lotte;;Smit;lotte@example.nl;;7,50;betaald;2026-11-23 14:05",
        // line 6: a guest known by name only
        "T5;E300;Lezing Multatuli;2026-12-14;20:00;lezing;;Piet;de;Vries;;;7,50;geboekt;",
    ]
    static let bad = [
        "T6;E100;Voorleesuurtje;05-12-2026;10:00;jeugd;;Mia;;Mol;mia@example.nl;;0;zoekgeraakt;",  // line 7: status
        "T7;E400;Workshop;32-13-2026;10:00;workshop;;Jan;;Jansen;jan@example.nl;;0;betaald;",  // line 8: date
        "T8;E100;Voorleesuurtje;05-12-2026;10:00;jeugd;;;;;;;0;betaald;",  // line 9: nobody
        "T9;E500;Rondleiding;15-12-2026;11:00;rondleiding;Atlantis;Els;;Eik;els@example.nl;;0;betaald;",  // line 10: branch
    ]

    static func file(_ rows: [String]) -> [UInt8] { Array((header + rows.joined(separator: "\r\n") + "\r\n").utf8) }

    struct Library {
        let env: TestEnvironment
        let tenant: Tenant
        let anna: Customer
        let kees: Customer
        let storytime: Activity
    }

    func setUp() async throws -> Library {
        let env = try await TestEnvironment.forSuite("RegistrationImport")
        let tenant = try await env.createTenant("tix")
        return try await env.db.withTenant(tenant) { tx in
            _ = try await Branches.create(BranchDraft(name: "Haarlem Centrum", municipality: "Haarlem"), by: .system, now: Self.now, in: tx)
            var member = CustomerDraft(roles: ["member"])
            member.memberNumber = "100001"
            member.memberType = "adult"
            member.lastName = "Dijk"
            member.email = "anna@example.nl"
            let anna = try await Customers.create(try member.validate(today: CustomerTests.today), by: .system, now: Self.now, in: tx)
            var visitor = CustomerDraft(roles: ["visitor"])
            visitor.lastName = "Kok"
            visitor.email = "kees@example.nl"
            let kees = try await Customers.create(try visitor.validate(today: CustomerTests.today), by: .system, now: Self.now, in: tx)
            let start = try #require(RegistrationImport.Header.moment("05-12-2026", time: "10:00"))
            let storytime = try await Activities.create(
                ActivityDraft(title: "Voorleesuurtje", category: "jeugd", startsAt: start, endsAt: start.addingTimeInterval(3600)),
                by: .system, now: Self.now, in: tx)
            return Library(env: env, tenant: tenant, anna: anna, kees: kees, storytime: storytime)
        }
    }

    func run(_ bytes: [UInt8], _ library: Library, dryRun: Bool = false) async throws -> ImportReport {
        try await RegistrationImport(dryRun: dryRun).run(
            BytesImportSource(bytes), by: .system, now: Self.now, db: library.env.db, tenant: library.tenant)
    }

    /// customer id -> (activity title, status, paid cents)
    func registrations(_ library: Library) async throws -> [(UUID, String, String, Int)] {
        try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query(
                """
                SELECT r.customer_id, a.title, r.status, r.price_paid_cents FROM registrations r JOIN activities a ON a.id = r.activity_id
                ORDER BY a.title, r.external_ref
                """
            ).decode((UUID, String, String, Int).self).reduce(into: []) { $0.append($1) }
        }
    }

    @Test func ticketsBecomeRegistrationsOfKnownCustomersOrNewGuests() async throws {
        let library = try await setUp()
        let report = try await run(Self.file(Self.good + Self.bad), library)
        #expect(report.rows == 9)
        #expect(report.inserted == 5)
        #expect(report.rejected == 4)
        #expect(report.guestsCreated == 2)
        #expect(report.activitiesCreated == 2)
        let byLine = Dictionary(uniqueKeysWithValues: report.errors.map { ($0.line, $0) })
        #expect(byLine[7]?.column == "Status")
        #expect(byLine[8]?.column == "Datum")
        #expect(byLine[9]?.reason.contains("last name or e-mail") == true)
        #expect(byLine[10]?.column == "Locatie")

        let rows = try await registrations(library)
        #expect(rows.count == 5)
        let storytime = rows.filter { $0.1 == "Voorleesuurtje" }
        #expect(Set(storytime.map(\.0)) == [library.anna.id, library.kees.id])
        let course = try #require(rows.first { $0.1 == "Schrijfcursus" })
        #expect(course.2 == "attended")
        #expect(course.3 == 2500)
        let lecture = rows.filter { $0.1 == "Lezing Multatuli" }
        #expect(lecture.count == 2)
        #expect(lecture.contains { $0.0 == course.0 })  // Lotte's second ticket: the same guest

        try await library.env.db.withTenant(library.tenant) { tx in
            // The existing activity now carries the ticketing system's id; no second storytime was made.
            let refs = try await tx.query("SELECT title, external_ref FROM activities ORDER BY title").decode((String, String?).self)
                .reduce(into: [String: String?]()) { $0[$1.0] = $1.1 }
            #expect(refs == ["Lezing Multatuli": "E300", "Schrijfcursus": "E200", "Voorleesuurtje": "E100"])
            let lotte = try await Customers.read(id: course.0, by: .system, now: Self.now, in: tx)
            #expect(lotte.roles.map(\.rawValue) == ["guest"])
            #expect(lotte.email == "lotte@example.nl")
            #expect(lotte.memberNumber == nil)
            let events = try await tx.query("SELECT event FROM contact_moments WHERE customer_id = \(course.0) ORDER BY event")
                .decode(String.self).reduce(into: []) { $0.append($1) }
            #expect(events.contains("registration.attended"))
            #expect(events.contains("registration.booked"))
        }
    }

    @Test func reimportingChangesNothingAndAChangedStatusIsUpdated() async throws {
        let library = try await setUp()
        _ = try await run(Self.file(Self.good), library)
        let before = try await registrations(library)
        let again = try await run(Self.file(Self.good), library)
        #expect(again.inserted == 0)
        #expect(again.updated == 0)
        #expect(again.unchanged == 5)
        #expect(again.guestsCreated == 0)
        #expect(again.activitiesCreated == 0)
        #expect(try await registrations(library).map(\.0) == before.map(\.0))

        var cancelled = Self.good
        cancelled[2] = cancelled[2].replacingOccurrences(of: ";gescand;", with: ";geannuleerd;")
        let third = try await run(Self.file(cancelled), library)
        #expect(third.updated == 1)
        #expect(third.unchanged == 4)
        #expect(try await registrations(library).first { $0.1 == "Schrijfcursus" }?.2 == "cancelled")
    }

    @Test func aPersonErasedOnRequestDoesNotComeBackAsAGuest() async throws {
        let library = try await setUp()
        try await library.env.db.withTenant(library.tenant) { tx in
            try await CustomerPrivacy.erase(id: library.kees.id, by: .system, now: Self.now, in: tx)
        }
        let report = try await run(Self.file([Self.good[1]]), library)
        #expect(report.inserted == 0)
        #expect(report.guestsCreated == 0)
        #expect(report.errors.first?.column == "E-mail")
        #expect(report.errors.first?.reason.contains("erased") == true)
        let keeses = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers WHERE last_name = 'Kok'").decode(Int.self).reduce(0, +)
        }
        #expect(keeses == 0)
    }

    @Test func dryRunReportsAndChangesNothing() async throws {
        let library = try await setUp()
        let report = try await run(Self.file(Self.good), library, dryRun: true)
        #expect(report.dryRun)
        #expect(report.inserted == 5)
        #expect(report.guestsCreated == 2)
        #expect(try await registrations(library).isEmpty)
        let customers = try await library.env.db.withTenant(library.tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM customers").decode(Int.self).reduce(0, +)
        }
        #expect(customers == 2)
    }

    @Test func aFileWithoutActivityColumnsChangesNothing() async throws {
        let library = try await setUp()
        await #expect(throws: ImportError.self) {
            try await run(Array("Naam;E-mail\r\nJan;jan@example.nl\r\n".utf8), library)
        }
    }

    @Test func shippedDefaultMappingFileEqualsTheBuiltInOne() throws {
        let url = try #require(ProjectFiles.locate("Deploy/mappings/registrations-default.json"))
        let mapping = try JSONDecoder().decode(RegistrationMapping.self, from: Data(contentsOf: url))
        #expect(mapping == RegistrationMapping.defaultRegistrations)
    }

    @Test func datesAndTimesAreDutchTime() throws {
        let winter = try #require(RegistrationImport.Header.moment("05-12-2026", time: "10:00"))
        #expect(winter == Date(timeIntervalSince1970: 1_796_461_200))  // 2026-12-05 09:00 UTC
        let summer = try #require(RegistrationImport.Header.moment("2026-07-01 20:30", time: nil))
        #expect(summer == Date(timeIntervalSince1970: 1_782_930_600))  // 2026-07-01 18:30 UTC
        #expect(RegistrationImport.Header.moment("05-12-2026", time: "25:00") == nil)
        #expect(RegistrationImport.Header.moment("5 december", time: nil) == nil)
    }
}
