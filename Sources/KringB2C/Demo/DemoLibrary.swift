import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Synthetic but realistic data for a demo library, following the libraries' own figures (BZK 2018-2019):
/// 58% youth members, 6.2% never borrowed, about 16% of members lost within the year, loans per member
/// around 12 a year, activities with a few dozen visitors. Dutch names and the tenant's real postcode
/// ranges; no real persons. Deterministic for a given seed.
public struct DemoLibrary: Sendable {
    public struct Profile: Sendable {
        public let branches: [(name: String, municipality: String)]
        /// Municipality -> postcode number range (the first four digits).
        public let postcodes: [(municipality: String, range: ClosedRange<Int>)]
    }

    public static let profiles: [String: Profile] = [
        "zuid-kennemerland": Profile(
            branches: [
                ("Haarlem Centrum", "Haarlem"), ("Haarlem Noord", "Haarlem"), ("Haarlem Oost", "Haarlem"), ("Haarlem Schalkwijk", "Haarlem"),
                ("Bibliotheek op het station", "Haarlem"), ("Bloemendaal", "Bloemendaal"), ("Bennebroek", "Bloemendaal"),
                ("Zandvoort", "Zandvoort"), ("Hillegom", "Hillegom"),
            ],
            postcodes: [("Haarlem", 2011...2037), ("Bloemendaal", 2061...2121), ("Zandvoort", 2041...2042), ("Hillegom", 2181...2182)]),
        "amstelland": Profile(
            branches: [
                ("Amstelveen Stadsplein", "Amstelveen"), ("Amstelveen Westwijk", "Amstelveen"), ("Uithoorn", "Uithoorn"),
                ("Ouder-Amstel", "Ouder-Amstel"),
            ],
            postcodes: [("Amstelveen", 1181...1189), ("Uithoorn", 1421...1424), ("Ouder-Amstel", 1191...1191)]),
        "hilversum": Profile(
            branches: [("Hilversum Centrum", "Hilversum"), ("Hilversum Noord", "Hilversum")],
            postcodes: [("Hilversum", 1211...1223)]),
    ]

    public let profile: Profile
    public let members: Int
    public let seed: UInt64

    public init(tenant: TenantSlug, members: Int, seed: UInt64 = 42) {
        self.profile = Self.profiles[tenant.value] ?? Self.profiles["zuid-kennemerland"]!
        self.members = members
        self.seed = seed
    }

    /// Columns of the export, for a plain table of the same shape.
    public static var columnIndices: Range<Int> { header.indices }

    static let header = [
        "Lenernummer", "Lenerscategorie", "Status", "Inschrijfdatum", "Einddatum", "Reden uitschrijving", "Voornaam", "Tussenvoegsel",
        "Achternaam", "Geboortedatum", "E-mail", "Telefoon", "Postcode", "Huisnummer", "Straat", "Woonplaats", "Gemeente", "Vestiging",
        "Genres", "Laatste uitlening", "Uitleningen 12 maanden", "Uitleningen totaal",
    ]
    static let firstNames = [
        "Anna", "Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Finn", "Sophie", "Noah", "Zoë", "Fatima", "Mohamed", "Sanne",
        "Pieter", "Tess", "Levi", "Saar", "Bram", "Yara", "Ahmet", "Ingrid", "Kees", "Wilma", "Joost", "Lotte", "Ravi", "Mei",
    ]
    static let lastNames = [
        "de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer", "El Amrani",
        "Yilmaz", "van Dijk", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Kramer",
    ]
    static let postcodeLetters = ["AB", "CD", "EF", "GH", "JK", "LM", "NP", "RS", "TV", "XZ"]
    static let streets = ["Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsplein", "Julianalaan", "Beatrixstraat", "Parklaan"]
    static let genres = ["thrillers", "history", "literature", "youth", "comics", "travel", "cooking", "science", "poetry", "picture-books"]

    /// LCG: the same seed writes the same library (and the same generated Mosaic files).
    public struct Random: Sendable {
        var state: UInt64
        public init(state: UInt64) { self.state = state }
        public mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(max(bound, 1)))
        }
        public mutating func chance(_ perMille: Int) -> Bool { next(1000) < perMille }
    }

    /// Member-type mix of the figures (per mille): youth 37,405, adults 24,858, other 1,066, NT2 905, friends 162, at home 101.
    static func memberType(_ random: inout Random) -> (type: String, youth: Bool) {
        let roll = random.next(1000)
        switch roll {
        case ..<580: return ("Jeugd", true)
        case ..<966: return ("Volwassene", false)
        case ..<982: return ("Overig", false)
        case ..<996: return ("NT2", false)
        case ..<998: return ("Vriend", false)
        default: return ("Bibliotheek aan huis", false)
        }
    }

    /// The export rows, in the default mapping's columns, as of `today`.
    public func rows(today: CalendarDate) -> some Sequence<[String]> {
        var random = Random(state: seed)
        let profile = self.profile
        let year = today.year
        return (0..<members).lazy.map { index -> [String] in
            let (type, youth) = Self.memberType(&random)
            let birthYear = youth ? year - 1 - random.next(18) : year - 19 - random.next(68)
            let lost = random.chance(160)
            // A member who left this year joined before it.
            let since = min(max(birthYear + 1, year - (youth ? random.next(12) : random.next(26))), lost ? year - 1 : year)
            let neverBorrowed = random.chance(62)
            let yearlyLoans = youth ? 8 : (type == "Vriend" ? 33 : type == "Bibliotheek aan huis" ? 43 : 18)
            // Leavers stopped borrowing long before leaving (24 months for adults, 37 for youth, on average).
            // Some current members are on their way out: they stopped borrowing a year or more ago (the churn early
            // warning's list). Chosen by number, so the random sequence, and everything else generated, stays the same.
            let fading = !lost && !neverBorrowed && since <= year - 3 && index % 13 == 5
            let loans12m = neverBorrowed || lost ? 0 : max(0, yearlyLoans / 2 + random.next(yearlyLoans + 1))
            let monthsSinceLoan = neverBorrowed ? nil : (lost ? (youth ? 25 + random.next(24) : 12 + random.next(24)) : random.next(6))
            let area = profile.postcodes[random.next(profile.postcodes.count)]
            let first = Self.firstNames[random.next(Self.firstNames.count)]
            let last = Self.lastNames[random.next(Self.lastNames.count)]
            let parts = last.split(separator: " ")
            let (infix, surname) = parts.count > 1 ? (parts.dropLast().joined(separator: " "), String(parts.last ?? "")) : ("", last)
            let lastLoan =
                (fading ? 13 + index % 24 : monthsSinceLoan).map { months -> String in
                    let total = year * 12 + (today.month - 1) - months
                    let day = months == 0 ? 1 + random.next(today.day) : 1 + random.next(28)
                    return String(format: "%02d-%02d-%04d", day, total % 12 + 1, total / 12)
                } ?? ""
            return [
                String(2_000_000 + index), type, lost ? "Beëindigd" : "Actief",
                String(format: "%02d-%02d-%04d", 1 + random.next(28), 1 + random.next(12), since),
                lost ? String(format: "%02d-%02d-%04d", 1 + random.next(28), 1 + random.next(max(1, today.month)), year) : "",
                lost ? ["verhuisd", "geen tijd", "te duur", "onbekend"][random.next(4)] : "",
                first, infix, surname, String(format: "%02d-%02d-%04d", 1 + random.next(28), 1 + random.next(12), birthYear),
                youth || random.chance(300)
                    ? "" : "\(first.lowercased().filter(\.isLetter)).\(surname.lowercased().filter(\.isLetter)).\(index)@example.nl",
                random.chance(400) ? "" : "06-\(10_000_000 + random.next(89_999_999))",
                String(
                    format: "%04d %@", area.range.lowerBound + random.next(area.range.count),
                    Self.postcodeLetters[random.next(10)]),
                String(1 + random.next(180)), Self.streets[random.next(Self.streets.count)], area.municipality, area.municipality,
                profile.branches.filter { $0.municipality == area.municipality }.map(\.name).first ?? profile.branches[0].name,
                "\(Self.genres[random.next(Self.genres.count)])|\(Self.genres[random.next(Self.genres.count)])",
                lastLoan, String(fading ? 0 : loans12m), String(neverBorrowed ? 0 : loans12m + random.next(yearlyLoans * max(1, year - since) + 1)),
            ]
        }
    }

    /// The rows as a member export file (`;`, CRLF, UTF-8), as the library system would write it.
    public func writeExport(to url: URL, today: CalendarDate) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = Self.header.joined(separator: ";") + "\r\n"
        for row in rows(today: today) {
            buffer += row.joined(separator: ";") + "\r\n"
            if buffer.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
    }

    /// Seeds the tenant's branches, imports the members through the real import, and adds activities
    /// (about two a day over the past year and the coming two months) with registrations and attendance,
    /// newsletter consents and a few complaints. Answers the import report.
    public func seed(tenant: Tenant, db: Database, now: Date) async throws -> ImportReport {
        let today = CalendarDate(now)
        try await db.withTenant(tenant) { tx in
            let existing = Set(try await Branches.list(in: tx).map(\.name))
            for branch in profile.branches where !existing.contains(branch.name) {
                _ = try await Branches.create(BranchDraft(name: branch.name, municipality: branch.municipality), by: .system, now: now, in: tx)
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kring-demo-\(tenant.slug)-\(UUID()).csv")
        defer { try? FileManager.default.removeItem(at: file) }
        try writeExport(to: file, today: today)
        let report = try await MemberImport().run(try FileImportSource(path: file.path), by: .system, now: now, db: db, tenant: tenant)
        try await db.withTenant(tenant) { tx in try await seedActivities(now: now, in: tx) }
        return report
    }

    private func seedActivities(now: Date, in tx: TenantTransaction) async throws {
        var random = Random(state: seed &+ 7)
        let branches = try await Branches.list(in: tx)
        let categories = [
            ("jeugd", "Voorlezen voor peuters"), ("jeugd", "Kinderboekenweek-feest"), ("volwassenen", "Schrijversavond"),
            ("taal", "Taalcafé"), ("digitaal", "Digicafé: veilig online"), ("volwassenen", "Leesclub"), ("jeugd", "Codeerclub"),
        ]
        let activities = max(10, min(800, members / 100))
        // Two a day around today, at the times libraries hold them (10:00, 14:30, 19:30 in Amsterdam); the last few
        // (at least four) from tomorrow on, so that reminders and bookings have something to go to.
        try await tx.query(
            """
            INSERT INTO activities (id, title, category, target_group, branch_id, starts_at, ends_at, capacity, price_cents, created_at, updated_at)
            SELECT gen_random_uuid(), (\(categories.map(\.1)))[1 + (i % \(categories.count))], (\(categories.map(\.0)))[1 + (i % \(categories.count))],
                   NULL, (\(branches.map(\.id)))[1 + (i % \(branches.count))], s.at, s.at + interval '90 minutes',
                   CASE WHEN i % 4 = 0 THEN 12 ELSE 30 END, CASE WHEN i % 3 = 0 THEN 350 ELSE 0 END, \(now), \(now)
            FROM generate_series(1, \(activities)) AS i
            CROSS JOIN LATERAL (
                SELECT (date_trunc('day', \(now) AT TIME ZONE 'Europe/Amsterdam') + floor((i - \(activities - max(4, activities / 6)) + 1) / 2.0) * interval '1 day'
                        + (ARRAY[interval '10 hours', interval '14 hours 30 minutes', interval '19 hours 30 minutes'])[1 + i % 3])
                       AT TIME ZONE 'Europe/Amsterdam' AS at
            ) s
            """)
        // Activity guests who are not members: people from the library's area who come to its activities, with a
        // name and an address (so that the Mosaic reports can place them) and mostly an e-mail address.
        let guests = max(20, members / 25)
        let areas = profile.postcodes
        try await tx.query(
            """
            INSERT INTO customers (id, roles, first_name, infix, last_name, email, postcode, house_number, street, city, municipality,
                                   favourite_branch_id, created_at, updated_at)
            SELECT gen_random_uuid(), ARRAY['guest'], (\(Self.firstNames))[1 + (i * 7) % \(Self.firstNames.count)],
                   nullif(regexp_replace(n.last, ' ?[^ ]+$', ''), ''), regexp_replace(n.last, '^.* ', ''),
                   CASE WHEN i % 3 <> 0 THEN 'gast.' || i || '@example.nl' END,
                   lpad((a.lo + (i * 37) % (a.hi - a.lo + 1))::text, 4, '0') || ' ' || (\(Self.postcodeLetters))[1 + (i * 3) % 10],
                   (1 + (i * 13) % 180)::text, (\(Self.streets))[1 + i % \(Self.streets.count)], a.place, a.place,
                   (SELECT b.id FROM branches b WHERE b.municipality = a.place ORDER BY md5(b.name || i) LIMIT 1), \(now), \(now)
            FROM generate_series(1, \(guests)) AS i
            CROSS JOIN LATERAL (SELECT (\(Self.lastNames))[1 + (i * 5) % \(Self.lastNames.count)] AS last) n
            CROSS JOIN LATERAL (
                SELECT (\(areas.map(\.municipality)))[1 + i % \(areas.count)] AS place,
                       (\(areas.map(\.range.lowerBound)))[1 + i % \(areas.count)] AS lo, (\(areas.map(\.range.upperBound)))[1 + i % \(areas.count)] AS hi
            ) a
            """)
        // Registrations: random members, attended or no-show for past activities, booked for coming ones.
        try await tx.query(
            """
            INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
            SELECT gen_random_uuid(), a.id, c.id,
                   CASE WHEN a.starts_at > \(now) THEN 'booked' WHEN random() < 0.85 THEN 'attended' ELSE 'no_show' END,
                   a.price_cents, 'staff', a.starts_at - interval '7 days', \(now)
            FROM activities a
            CROSS JOIN LATERAL (
                -- A sample of pages can come back empty for a small library: then the first customers by id.
                (SELECT id FROM customers TABLESAMPLE SYSTEM (\(min(100.0, max(0.5, 10_000.0 / Double(max(members, 1))))))
                 WHERE merged_into IS NULL AND a.id IS NOT NULL LIMIT \(10 + random.next(18)))
                UNION ALL
                (SELECT id FROM customers WHERE merged_into IS NULL AND a.id IS NOT NULL ORDER BY id LIMIT 12)
                LIMIT \(10 + random.next(18))
            ) c
            ON CONFLICT (activity_id, customer_id) DO NOTHING
            """)
        // Every guest came to at least one past activity.
        try await tx.query(
            """
            WITH past AS (
                SELECT id, price_cents, starts_at, row_number() OVER (ORDER BY starts_at, id) AS n, count(*) OVER () AS total
                FROM activities WHERE starts_at < \(now)
            ), guest AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers WHERE roles = ARRAY['guest'] AND merged_into IS NULL
            )
            INSERT INTO registrations (id, activity_id, customer_id, status, price_paid_cents, source, registered_at, updated_at)
            SELECT gen_random_uuid(), past.id, guest.id, 'attended', past.price_cents, 'staff', past.starts_at - interval '7 days', \(now)
            FROM guest JOIN past ON past.n = 1 + (guest.n * 7) % past.total
            ON CONFLICT (activity_id, customer_id) DO NOTHING
            """)
        try await tx.query(
            """
            INSERT INTO evaluations (registration_id, score, comment, created_at)
            SELECT id, 6 + (abs(hashtext(id::text)) % 5), NULL, \(now) FROM registrations WHERE status = 'attended' AND random() < 0.3
            ON CONFLICT DO NOTHING
            """)
        try await tx.query(
            """
            INSERT INTO consents (customer_id, topic, status, recorded_at, source, text_version)
            SELECT id, 'newsletter:weekly', 'confirmed', \(now) - interval '30 days', 'import', 'demo-v1'
            FROM customers WHERE email IS NOT NULL AND membership_status = 'active' AND abs(hashtext(id::text)) % 10 < 4
            """)
        try await tx.query(
            """
            INSERT INTO complaints (id, customer_id, channel, category, description, status, due_at, created_at, updated_at)
            SELECT gen_random_uuid(), id, (ARRAY['desk', 'email', 'phone'])[1 + h % 3], (ARRAY['boete', 'wachttijd', 'collectie'])[1 + h % 3],
                   (ARRAY['De boete voor te laat inleveren klopt niet: ik heb het boek op tijd teruggebracht.',
                          'Ik sta al drie maanden op de wachtlijst voor een boek.',
                          'De bibliotheek heeft te weinig grote-letterboeken.'])[1 + h % 3],
                   'new', \(now) + ((h % 20) - 4) * interval '1 day', \(now) + ((h % 20) - 18) * interval '1 day', \(now)
            FROM (SELECT id, abs(hashtext(id::text)) AS h FROM customers) c WHERE h % 250 = 0
            """)
    }
}
