import Foundation
import KringB2B
import KringCore
import KringDatabase
import KringTestSupport
import Testing

@Suite struct RelationImportTests {
    static let organisations = """
        Naam;Soort;Status;Straat;Huisnummer;Postcode;Plaats;Gemeente;Website;Accountmanager;Tags;Schoolbestuur;Postcode schoolbestuur\r
        Stichting Spaarnesant;overig;actief;Westergracht;3;2013 ZK;Haarlem;Haarlem;spaarnesant.nl;;bestuur;;\r
        OBS De Ster;basisschool;actief;Sterstraat;1;2011AB;Haarlem;Haarlem;;accountmanager@bieb.example;po|leesbevordering;Stichting Spaarnesant;2013 ZK\r
        Het Kompas;basisschool;prospect;Kompasweg;2;2012 CD;Haarlem;Haarlem;;;;Stichting Spaarnesant;\r
        Zonder naam;basisschool;actief;;;2012 EF;Haarlem;;;;;;\r
        ;basisschool;actief;;;2012 EF;Haarlem;;;;;;\r
        Het Kompas;basisschool;actief;;;2012CD;Haarlem;;;;;;\r
        Kinderopvang Dribbel;kinderopvang;actief;;;12345;Haarlem;;;;;;\r
        De Vlieger;peuterspeelzaal;actief;;;2015 AA;Haarlem;;;;;;\r
        Sportclub;partner;actief;;;2016 AA;Haarlem;;;onbekend@bieb.example;;;\r
        Dochter;basisschool;actief;;;2017 AA;Haarlem;;;;;Bestaat Niet;\r

        """

    func setUp() async throws -> (TestEnvironment, Tenant, UUID) {
        let (env, tenant) = try await B2B.setUp("RelationImport")
        return (env, tenant, UUID())
    }

    func run(
        _ kind: RelationImport.Kind, _ text: String, dryRun: Bool = false, staff: [String: UUID] = [:], env: TestEnvironment, tenant: Tenant,
        now: Date = B2B.now
    ) async throws -> RelationImportReport {
        try await RelationImport(kind: kind, dryRun: dryRun).run(Array(text.utf8), staff: staff, by: .system, now: now, db: env.db, tenant: tenant)
    }

    @Test func organisationsAreValidatedPerRowDeduplicatedAndReimportedWithoutChange() async throws {
        let (env, tenant, manager) = try await setUp()
        let staff = ["accountmanager@bieb.example": manager]
        let dry = try await run(.organisations, Self.organisations, dryRun: true, staff: staff, env: env, tenant: tenant)
        #expect(dry.rows == 10)
        #expect(dry.inserted == 4)
        let count = try await env.db.withTenant(tenant) { tx in try await Organisations.search(.init(), in: tx).count }
        #expect(count == 0)

        let report = try await run(.organisations, Self.organisations, staff: staff, env: env, tenant: tenant)
        #expect(report.encoding == .utf8)
        #expect(report.separator == ";")
        let counts: [Int] = [report.rows, report.inserted, report.updated, report.unchanged, report.rejected]
        #expect(counts == [10, 4, 0, 0, 6])
        #expect(report.errors.map(\.line) == [6, 7, 8, 9, 10, 11])
        #expect(report.errors.map(\.column) == ["Naam", "Naam", "Postcode", "Soort", "Accountmanager", "Schoolbestuur"])
        #expect(report.errors[1].reason == "This organisation appears again (first on line 4).")

        let (ster, board, kompas) = try await env.db.withTenant(tenant) { tx in
            (
                try await Organisations.search(.init(query: "de ster"), in: tx).first,
                try await Organisations.search(.init(query: "spaarnesant"), in: tx).first,
                try await Organisations.search(.init(query: "kompas"), in: tx).first
            )
        }
        #expect(ster?.postcode == "2011 AB")
        #expect(ster?.type == "primary_school")
        #expect(ster?.accountOwnerUserID == manager)
        #expect(ster?.tags == ["leesbevordering", "po"])
        #expect(ster?.parentID == board?.id)
        #expect(kompas?.parentID == board?.id)
        #expect(kompas?.status == .prospect)
        #expect(board?.website == "https://spaarnesant.nl")

        // The same file again changes nothing.
        let again = try await run(.organisations, Self.organisations, staff: staff, env: env, tenant: tenant)
        #expect(again.inserted == 0)
        #expect(again.updated == 0)
        #expect(again.unchanged == 4)
        // An empty cell keeps what Kring knows; a changed cell changes it.
        let changed = try await run(.organisations, "Naam;Postcode;Status;Plaats\nOBS De Ster;2011 AB;voormalig;\n", env: env, tenant: tenant)
        #expect(changed.updated == 1)
        let after = try await env.db.withTenant(tenant) { tx in try await Organisations.find(id: ster!.id, in: tx) }
        #expect(after.status == .former)
        #expect(after.city == "Haarlem")
        #expect(after.type == "primary_school")
        #expect(try await B2B.auditCount("import.organisations", in: tenant, env) == 3)
        #expect(try await B2B.auditCount("import.organisations.dry_run", in: tenant, env) == 0)
    }

    @Test func contactsJoinOnEmailKeepRolesAtSeveralOrganisationsAndRecordConsent() async throws {
        let (env, tenant, _) = try await setUp()
        _ = try await run(
            .organisations, "Naam;Postcode;Soort\nOBS De Ster;2011 AB;basisschool\nHet Kompas;2012 CD;basisschool\nHet Kompas;2099 ZZ;basisschool\n",
            env: env, tenant: tenant)
        let contacts = """
            Organisatie;Postcode organisatie;Voornaam;Tussenvoegsel;Achternaam;E-mail;Telefoon;Functie;Rol;Actief vanaf;Toestemming relatiemailing
            OBS De Ster;2011 AB;Anja;de;Wit;A.deWit@Ster.example;023-5115300;Directeur;beslisser;2019-08-01;ja
            Het Kompas;2012 CD;Anja;de;Wit;a.dewit@ster.example;;Bestuurslid;adviseur;2022-01-01;ja
            OBS De Ster;2011 AB;Piet;;Jansen;;;Conciërge;poortwachter;;
            OBS De Ster;2011 AB;Anja;de;Wit;a.dewit@ster.example;;Directeur;beslisser;2019-08-01;ja
            Onbekende School;;Kees;;Bos;kees@example.org;;;gebruiker;;
            Het Kompas;;Els;;Vos;els@example.org;;;gebruiker;;
            OBS De Ster;2011 AB;;;;zonder-naam@example.org;;;adviseur;;
            OBS De Ster;2011 AB;Jan;;Dijk;jan@example.org;;;koning;;
            OBS De Ster;2011 AB;Mo;;Ali;mo@example.org;;;adviseur;;misschien

            """
        let report = try await run(.contacts, contacts, env: env, tenant: tenant)
        #expect(report.rows == 9)
        #expect(report.inserted == 2)
        #expect(report.updated == 1)
        #expect(report.rejected == 6)
        #expect(report.errors.map(\.line) == [5, 6, 7, 8, 9, 10])
        #expect(report.errors.map(\.column) == ["E-mail", "Organisatie", "Organisatie", "Achternaam", "Rol", "Toestemming relatiemailing"])

        let anja = try await env.db.withTenant(tenant) { tx in
            let found = try await Contacts.search(.init(query: "a.dewit@ster.example"), by: .system, now: B2B.now, in: tx)
            return try await Contacts.read(id: try #require(found.first).id, by: .system, now: B2B.now, in: tx)
        }
        #expect(anja.contact.email == "a.dewit@ster.example")
        #expect(anja.contact.phone == "023-5115300")
        #expect(Set(anja.roles.map(\.organisationName)) == ["OBS De Ster", "Het Kompas"])
        #expect(anja.roles.first { $0.organisationName == "Het Kompas" }?.dmuRole == .advisor)
        #expect(anja.consents.map(\.status) == [.optedIn])
        #expect(anja.consents.first?.source == .import)

        // Again: nothing changes, no second consent statement.
        let again = try await run(.contacts, contacts, env: env, tenant: tenant, now: B2B.now + B2B.day)
        #expect(again.inserted == 0)
        #expect(again.updated == 0)
        #expect(again.unchanged == 3)
        let history = try await env.db.withTenant(tenant) { tx in try await ContactConsents.history(contactID: anja.contact.id, in: tx) }
        #expect(history.count == 1)

        // Piet, without an e-mail, is found again by name at his school; ending his role keeps it as history.
        let ended = try await run(
            .contacts,
            "Organisatie;Postcode organisatie;Voornaam;Achternaam;Rol;Actief tot\nOBS De Ster;2011 AB;Piet;Jansen;poortwachter;2026-12-31\n",
            env: env, tenant: tenant)
        #expect(ended.updated == 1)
        #expect(ended.inserted == 0)
        let piet = try await env.db.withTenant(tenant) { tx in try await Contacts.search(.init(query: "jansen"), by: .system, now: B2B.now, in: tx) }
        #expect(piet.count == 1)
        let roles = try await env.db.withTenant(tenant) { tx in try await Contacts.roles(contactID: piet[0].id, in: tx) }
        #expect(roles.map(\.activeTo) == [CalendarDate(year: 2026, month: 12, day: 31)])
    }

    @Test func unreadableFilesChangeNothing() async throws {
        let (env, tenant, _) = try await setUp()
        await #expect(throws: RelationsError.unreadableFile("The file is empty.")) { _ = try await run(.organisations, "", env: env, tenant: tenant) }
        await #expect(throws: RelationsError.self) { _ = try await run(.organisations, "Iets;Anders\n1;2\n", env: env, tenant: tenant) }
        await #expect(throws: RelationsError.unreadableFile("A quoted field that starts on line 2 never ends.")) {
            _ = try await run(.organisations, "Naam;Postcode\n\"Open;2011 AB\nTwee;2012 AB\n", env: env, tenant: tenant)
        }
        #expect(try await env.db.withTenant(tenant) { tx in try await Organisations.search(.init(), in: tx) }.isEmpty)
    }

    @Test func windows1252ListsAreRead() async throws {
        let (env, tenant) = try await B2B.setUp("RelationImport")
        // "Het Mozaïek" with ï as Windows-1252 byte 0xEF.
        var bytes = Array("Naam,Postcode,Soort\r\nHet Moza".utf8)
        bytes += [0xEF]
        bytes += Array("ek,2102 AB,basisschool\r\n".utf8)
        let report = try await RelationImport(kind: .organisations).run(bytes, staff: [:], by: .system, now: B2B.now, db: env.db, tenant: tenant)
        #expect(report.encoding == .windows1252)
        #expect(report.separator == ",")
        #expect(report.inserted == 1)
        let found = try await env.db.withTenant(tenant) { tx in try await Organisations.search(.init(query: "mozaïek"), in: tx) }
        #expect(found.map(\.name) == ["Het Mozaïek"])
    }

    @Test func shippedDefaultMappingFilesEqualTheBuiltInOnes() throws {
        for (file, mapping) in [("organisations", RelationImportMapping.defaultOrganisations), ("contacts", RelationImportMapping.defaultContacts)] {
            let url = try #require(ProjectFiles.locate("Deploy/mappings/\(file)-default.json"))
            #expect(try JSONDecoder().decode(RelationImportMapping.self, from: Data(contentsOf: url)) == mapping)
        }
    }
}
