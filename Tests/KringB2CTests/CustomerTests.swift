import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringTestSupport
import PostgresNIO
import Testing

@Suite struct CustomerTests {
    static let today = CalendarDate(year: 2026, month: 11, day: 27)!
    static let now = Date(timeIntervalSince1970: 1_795_780_800)  // 2026-11-27 12:00 UTC
    static let staff = AuditActor(userID: UUID(), apiKeyID: nil)

    static func member(
        _ number: String = "M\(Int.random(in: 100_000...999_999))", lastName: String = "Jansen",
        email: String? = nil, birthDate: String = "1980-04-12"
    ) -> CustomerDraft {
        var draft = CustomerDraft(roles: ["member"])
        draft.memberNumber = number
        draft.memberType = "adult"
        draft.firstName = "Anna"
        draft.infix = "van"
        draft.lastName = lastName
        draft.birthDate = birthDate
        draft.email = email ?? "anna.\(UUID().uuidString.prefix(6).lowercased())@example.nl"
        draft.phone = "023-5115300"
        draft.postcode = "2011ab"
        draft.houseNumber = "12"
        draft.street = "Gasthuisstraat"
        draft.city = "Haarlem"
        draft.municipality = "Haarlem"
        draft.genres = ["Thrillers", "history"]
        return draft
    }

    func setUp() async throws -> (TestEnvironment, Tenant) {
        let env = try await TestEnvironment.forSuite("Customers")
        return (env, try await env.createTenant("c"))
    }

    func create(_ draft: CustomerDraft, _ env: TestEnvironment, _ tenant: Tenant) async throws -> Customer {
        let valid = try draft.validate(today: Self.today)
        return try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: Self.staff, now: Self.now, in: tx) }
    }

    /// The 360 view's statements are prepared once per connection. On one connection shared by two libraries, each
    /// library's view reads its own tables (PostgreSQL parses a prepared statement again when the search path
    /// changes), the other library's customer is not found, and each read is audited in its own library.
    @Test func preparedStatementsFollowTheLibraryOnASharedConnection() async throws {
        let env = try await TestEnvironment.forSuite("Customers")
        let a = try await env.createTenant("pa")
        let b = try await env.createTenant("pb")
        let inA = try await create(Self.member(lastName: "Akkerman"), env, a)
        let inB = try await create(Self.member(lastName: "Bakker"), env, b)
        let db = Database(
            client: await TestDatabase.shared.client(user: "kring_app", database: env.databaseName, maxConnections: 1), logger: .init(label: "single")
        )
        func view(_ tenant: Tenant, _ id: UUID) async throws -> CustomerProfile {
            try await db.withTenant(tenant) { tx in try await CustomerPrivacy.profile(id: id, by: Self.staff, now: Self.now, in: tx) }
        }
        // Seven views in one library (past the five after which PostgreSQL may keep a generic plan), then seven in
        // the other on the same connection, then alternately.
        for _ in 0..<7 { #expect(try await view(a, inA.id).customer.lastName == "Akkerman") }
        for _ in 0..<7 { #expect(try await view(b, inB.id).customer.lastName == "Bakker") }
        for _ in 0..<3 {
            #expect(try await view(a, inA.id).customer.lastName == "Akkerman")
            #expect(try await view(b, inB.id).customer.lastName == "Bakker")
            await #expect(throws: CustomerError.notFound) { try await view(b, inA.id) }
            await #expect(throws: CustomerError.notFound) { try await view(a, inB.id) }
        }
        for (tenant, customer) in [(a, inA), (b, inB)] {
            let reads = try await env.db.withTenant(tenant) { tx in
                try await tx.query(
                    "SELECT count(*) FROM audit_log WHERE action = 'customer.read' AND subject_id = \(customer.id.uuidString.lowercased())"
                )
                .decode(Int.self).reduce(0, +)
            }
            #expect(reads == 10)
        }
    }

    @Test func validationReportsEveryBadFieldAtOnce() {
        var draft = CustomerDraft(roles: ["member", "owner"])
        draft.memberType = "wizard"
        draft.postcode = "0123 AB"
        draft.email = "anna@"
        draft.birthDate = "2030-01-01"
        draft.membershipStart = "31-02-2020"
        draft.phone = "call me"
        draft.lastName = "Jansen"
        #expect {
            try draft.validate(today: Self.today)
        } throws: { error in
            guard case .invalid(let errors) = error as? CustomerError else { return false }
            return Set(errors.map(\.field)) == [
                "roles", "member_type", "postcode", "email", "birth_date", "membership_start", "phone", "member_number",
            ]
        }
    }

    @Test func valuesAreNormalised() throws {
        let valid = try Self.member("M1", email: "Anna.Jansen@Example.NL").validate(today: Self.today)
        #expect(valid.postcode == "2011 AB")
        #expect(valid.email == "anna.jansen@example.nl")
        #expect(valid.genres == ["history", "thrillers"])
        #expect(valid.membershipStatus == "active")
        #expect(
            try CustomerDraft.member(dutchBirthDate: "07-03-2015").validate(today: Self.today).birthDate == CalendarDate(year: 2015, month: 3, day: 7)
        )
    }

    @Test func createReadAndReplaceWithVersionAreAudited() async throws {
        let (env, tenant) = try await setUp()
        let created = try await create(Self.member(), env, tenant)
        #expect(created.version == 1)
        #expect(created.householdID != nil)

        var changed = Self.member(created.memberNumber!, lastName: "Jansen-de Vries", email: created.email)
        changed.notes = "Wil graag voorleesochtenden"
        let valid = try changed.validate(today: Self.today)
        let updated = try await env.db.withTenant(tenant) { tx in
            try await Customers.replace(id: created.id, with: valid, expectedVersion: 1, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(updated.version == 2)
        #expect(updated.lastName == "Jansen-de Vries")
        // Someone still holding version 1 cannot overwrite the change.
        await #expect(throws: CustomerError.versionMismatch(current: 2)) {
            try await env.db.withTenant(tenant) { tx in
                try await Customers.replace(id: created.id, with: valid, expectedVersion: 1, by: Self.staff, now: Self.now, in: tx)
            }
        }
        _ = try await env.db.withTenant(tenant) { tx in try await Customers.read(id: created.id, by: Self.staff, now: Self.now, in: tx) }
        let actions = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT action, details::text FROM audit_log WHERE subject_id = \(created.id.uuidString.lowercased()) ORDER BY id")
                .decode((String, String).self).reduce(into: [(String, String)]()) { $0.append($1) }
        }
        #expect(actions.map(\.0) == ["customer.created", "customer.updated", "customer.read"])
        // The audit log names changed fields, never their values.
        #expect(actions[1].1.contains("last_name"))
        #expect(!actions[1].1.contains("Vries"))
    }

    @Test func duplicateMemberNumberIsAFieldError() async throws {
        let (env, tenant) = try await setUp()
        let first = try await create(Self.member(), env, tenant)
        await #expect(throws: CustomerError.duplicateMemberNumber) { try await create(Self.member(first.memberNumber!), env, tenant) }
    }

    @Test func searchFindsByNameEmailMemberNumberAndPostcode() async throws {
        let (env, tenant) = try await setUp()
        let anna = try await create(Self.member(lastName: "Bakker"), env, tenant)
        _ = try await create(Self.member(lastName: "Visser"), env, tenant)
        func find(_ query: String) async throws -> [UUID] {
            try await env.db.withTenant(tenant) { tx in
                try await Customers.search(.init(query: query), by: Self.staff, now: Self.now, in: tx).map(\.id)
            }
        }
        #expect(try await find("bak") == [anna.id])
        #expect(try await find(anna.email!.uppercased()) == [anna.id])
        #expect(try await find(anna.memberNumber!) == [anna.id])
        #expect(try await find("2011ab").count == 2)
        #expect(try await find("b%").isEmpty)
        // The start of a name is a range of the index: a last character beyond ASCII, wildcards of LIKE taken as they
        // are, the range's end excluded.
        let unal = try await create(Self.member(lastName: "Ünal"), env, tenant)
        let ubel = try await create(Self.member(lastName: "Übel_z"), env, tenant)
        #expect(try await find("ü") == [unal.id, ubel.id].sorted(by: Self.idOrder))
        #expect(try await find("ün") == [unal.id])
        #expect(try await find("übel_") == [ubel.id])
        #expect(try await find("b_k").isEmpty)
        #expect(try await find("bakkes").isEmpty)
        #expect(try await find("bakker") == [anna.id])
        // The general search (a filter) finds the same, and each search is audited once with its count.
        let filtered = try await env.db.withTenant(tenant) { tx in
            try await Customers.search(.init(query: "ü", role: .member), by: Self.staff, now: Self.now, in: tx).map(\.id)
        }
        #expect(filtered == (try await find("ü")))
        let counts = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT details->>'results' FROM audit_log WHERE action = 'customer.search' ORDER BY id DESC LIMIT 2")
                .decode(String.self).reduce(into: [String]()) { $0.append($1) }
        }
        #expect(counts == ["2", "2"])
    }

    /// Keyset order of the search: PostgreSQL's order of uuids, byte by byte.
    static func idOrder(_ left: UUID, _ right: UUID) -> Bool {
        withUnsafeBytes(of: left.uuid) { l in withUnsafeBytes(of: right.uuid) { r in l.lexicographicallyPrecedes(r) } }
    }

    @Test func consentHistoryKeepsEveryStatementWithItsProof() async throws {
        let (env, tenant) = try await setUp()
        let customer = try await create(Self.member(), env, tenant)
        let staffUser = AuditActor(userID: UUID(), apiKeyID: nil)
        try await env.db.withTenant(tenant) { tx in
            _ = try await Consents.record(
                ConsentDraft(
                    topic: "newsletter:weekly", status: "opted_in", source: "web_form", textVersion: "sha256:abc",
                    evidence: ["client_address": "192.0.2.10", "form": "https://bibliotheek.example/aanmelden"]),
                customerID: customer.id, by: .system, now: Self.now, in: tx)
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "confirmed", source: "web_form", textVersion: "sha256:abc"),
                customerID: customer.id, by: .system, now: Self.now + 60, in: tx)
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "withdrawn"),
                customerID: customer.id, by: staffUser, now: Self.now + 3600, in: tx)
        }
        let (history, current) = try await env.db.withTenant(tenant) { tx in
            (try await Consents.history(customerID: customer.id, in: tx), try await Consents.current(customerID: customer.id, in: tx))
        }
        #expect(history.map(\.status) == [.optedIn, .confirmed, .withdrawn])
        #expect(history[0].evidence["client_address"] == "192.0.2.10")
        #expect(history[1].confirmedAt == Self.now + 60)
        #expect(history[2].withdrawnAt == Self.now + 3600)
        #expect(history[2].staffUserID == staffUser.userID)
        #expect(current.map(\.status) == [.withdrawn])
        // Evidence cannot be rewritten: the tenant role may not change a statement's status or time.
        await #expect {
            try await env.db.withTenant(tenant) { tx in try await tx.query("UPDATE consents SET status = 'confirmed'") }
        } throws: { ($0 as? PSQLError)?.serverInfo?[.sqlState] == "42501" }
        await #expect {
            try await env.db.withTenant(tenant) { tx in try await tx.query("DELETE FROM consents") }
        } throws: { ($0 as? PSQLError)?.serverInfo?[.sqlState] == "42501" }
    }

    @Test func youthUnderSixteenNeedsAnAdultParentsConsent() async throws {
        let (env, tenant) = try await setUp()
        let child = try await create(Self.member(birthDate: "2016-05-01"), env, tenant)
        let sibling = try await create(Self.member(birthDate: "2014-05-01"), env, tenant)
        let parent = try await create(Self.member(birthDate: "1984-05-01"), env, tenant)
        let draft = ConsentDraft(topic: "newsletter:youth", status: "opted_in")
        await #expect {
            try await env.db.withTenant(tenant) { tx in try await Consents.record(draft, customerID: child.id, by: Self.staff, now: Self.now, in: tx)
            }
        } throws: { error in
            guard case .invalid(let errors) = error as? CustomerError else { return false }
            return errors.map(\.field) == ["given_by_parent_id"]
        }
        var bySibling = draft
        bySibling.givenByParentID = sibling.id
        await #expect(throws: CustomerError.self) {
            try await env.db.withTenant(tenant) { tx in
                try await Consents.record(bySibling, customerID: child.id, by: Self.staff, now: Self.now, in: tx)
            }
        }
        var byParent = draft
        byParent.givenByParentID = parent.id
        let consent = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.linkParent(parent.id, child: child.id, by: Self.staff, now: Self.now, in: tx)
            return try await Consents.record(byParent, customerID: child.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(consent.givenByParentID == parent.id)
        let profile = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.profile(id: child.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(profile.household.contains { $0.id == parent.id && $0.relation == "parent" })
        #expect(profile.consents.map(\.topic) == ["newsletter:youth"])
        // A withdrawal needs no parent.
        _ = try await env.db.withTenant(tenant) { tx in
            try await Consents.record(
                ConsentDraft(topic: "newsletter:youth", status: "withdrawn"), customerID: child.id, by: Self.staff, now: Self.now, in: tx)
        }
    }

    @Test func erasureLeavesNoPersonalDataInTheTenantsTables() async throws {
        let (env, tenant) = try await setUp()
        var draft = Self.member(lastName: "Zwanenburg", email: "zwanenburg.erase@example.nl", birthDate: "1961-08-19")
        draft.firstName = "Wilhelmina"
        draft.phone = "06-12345678"
        draft.street = "Zijlweg"
        draft.notes = "Belt altijd op dinsdag"
        let customer = try await create(draft, env, tenant)
        try await env.db.withTenant(tenant) { tx in
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "opted_in", source: "web_form", evidence: ["client_address": "198.51.100.23"]),
                customerID: customer.id, by: .system, now: Self.now, in: tx)
            _ = try await Timeline.add(
                ContactMomentDraft(channel: "phone", direction: "inbound", subject: "Wilhelmina Zwanenburg belde", body: "Over Zijlweg"),
                customerID: customer.id, by: Self.staff, now: Self.now, in: tx)
            try await CustomerPrivacy.erase(id: customer.id, by: Self.staff, now: Self.now, in: tx)
        }
        let personal = [
            "Wilhelmina", "Zwanenburg", "zwanenburg.erase", "1961-08-19", "06-12345678", "Zijlweg", "2011 AB", "dinsdag", "198.51.100.23",
            customer.memberNumber!,
        ]
        // Every row of every table in the tenant's schema, as text.
        let dump = try await env.owner.withConnection { connection in
            var text = ""
            let tables = try await connection.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(tenant.slug.schema.name)", logger: env.owner.logger
            )
            .decode(String.self).reduce(into: [String]()) { $0.append($1) }
            for table in tables {
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(tenant.slug.schema.quoted).\"\(table)\" t"), logger: env.owner.logger
                )
                for try await row in rows.decode(String.self) { text += row + "\n" }
            }
            return text
        }
        for value in personal { #expect(!dump.contains(value), "\(value) survived erasure") }
        #expect(dump.contains(customer.id.uuidString.lowercased()))
        let (suppressed, audited) = try await env.db.withTenant(tenant) { tx in
            (
                try await tx.query(
                    "SELECT count(*) FROM suppressions WHERE email_sha256 = \(CustomerPrivacy.emailHash("zwanenburg.erase@example.nl"))"
                ).decode(Int.self).reduce(0, +),
                try await tx.query(
                    "SELECT count(*) FROM audit_log WHERE action = 'customer.erased' AND subject_id = \(customer.id.uuidString.lowercased())"
                ).decode(Int.self).reduce(0, +)
            )
        }
        #expect(suppressed == 1)
        #expect(audited == 1)
        // Consent rows, the proof that consent was given, remain (without the address).
        let history = try await env.db.withTenant(tenant) { tx in try await Consents.history(customerID: customer.id, in: tx) }
        #expect(history.count == 1)
        #expect(history[0].evidence.isEmpty)
    }

    @Test func mergeKeepsBothHistoriesAndTheLatestConsent() async throws {
        let (env, tenant) = try await setUp()
        let survivor = try await create(Self.member(lastName: "Smit"), env, tenant)
        var guestDraft = CustomerDraft(roles: ["guest"])
        guestDraft.email = "smit.guest@example.nl"
        guestDraft.phone = "0612345678"
        guestDraft.lastName = "Smit"
        let guest = try await create(guestDraft, env, tenant)
        try await env.db.withTenant(tenant) { tx in
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "opted_in"), customerID: survivor.id, by: Self.staff, now: Self.now, in: tx)
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "confirmed", source: "web_form"), customerID: guest.id,
                by: .system, now: Self.now + 10, in: tx)
            _ = try await Timeline.add(
                ContactMomentDraft(channel: "desk", direction: "inbound", subject: "Vraag over pas"),
                customerID: guest.id, by: Self.staff, now: Self.now, in: tx)
        }
        let merged = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.merge(survivorID: survivor.id, duplicateID: guest.id, by: Self.staff, now: Self.now + 20, in: tx)
        }
        #expect(merged.roles.map(\.rawValue) == ["guest", "member"])
        #expect(merged.email == survivor.email)
        #expect(merged.phone == survivor.phone)
        let (history, current, timeline) = try await env.db.withTenant(tenant) { tx in
            (
                try await Consents.history(customerID: survivor.id, in: tx), try await Consents.current(customerID: survivor.id, in: tx),
                try await Timeline.list(customerID: survivor.id, before: nil, limit: 50, by: Self.staff, now: Self.now, in: tx)
            )
        }
        #expect(history.count == 2)
        #expect(current.map(\.status) == [.confirmed])
        #expect(timeline.contains { $0.subject == "Vraag over pas" })
        #expect(timeline.contains { $0.event == "customer.merged" })
        await #expect(throws: CustomerError.merged(into: survivor.id)) {
            try await env.db.withTenant(tenant) { tx in try await Customers.read(id: guest.id, by: Self.staff, now: Self.now, in: tx) }
        }
        await #expect(throws: CustomerError.cannotMergeWithItself) {
            try await env.db.withTenant(tenant) { tx in
                try await CustomerPrivacy.merge(survivorID: survivor.id, duplicateID: survivor.id, by: Self.staff, now: Self.now, in: tx)
            }
        }
    }

    /// consent_state is what segments, list counts and delivery read; it must always equal the latest statement
    /// per customer and topic in `consents`, whatever order statements arrive in.
    @Test func consentStateAlwaysHoldsTheLatestStatement() async throws {
        let (env, tenant) = try await setUp()
        let anna = try await create(Self.member(), env, tenant)
        let bram = try await create(Self.member(lastName: "Bakker"), env, tenant)
        func state() async throws -> [String: String] {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query("SELECT customer_id, topic, status FROM consent_state").decode((UUID, String, String).self)
                    .reduce(into: [String: String]()) { $0["\($1.0 == anna.id ? "anna" : $1.0 == bram.id ? "bram" : "other") \($1.1)"] = $1.2 }
            }
        }
        func definition() async throws -> [String: String] {
            try await env.db.withTenant(tenant) { tx in
                try await tx.query(
                    """
                    SELECT DISTINCT ON (customer_id, topic) customer_id, topic, status FROM consents
                    ORDER BY customer_id, topic, recorded_at DESC, id DESC
                    """
                ).decode((UUID, String, String).self)
                    .reduce(into: [String: String]()) { $0["\($1.0 == anna.id ? "anna" : $1.0 == bram.id ? "bram" : "other") \($1.1)"] = $1.2 }
            }
        }
        try await env.db.withTenant(tenant) { tx in
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "opted_in"), customerID: anna.id, by: Self.staff, now: Self.now, in: tx)
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "confirmed"), customerID: anna.id, by: .system, now: Self.now + 60, in: tx)
            // A statement recorded earlier than the one that holds (a late import of an old form) does not replace it.
            _ = try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "withdrawn"), customerID: anna.id, by: Self.staff, now: Self.now - 3600, in: tx)
            _ = try await Consents.record(
                ConsentDraft(topic: "booktips:monthly", status: "opted_in"), customerID: anna.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(try await state() == ["anna newsletter:weekly": "confirmed", "anna booktips:monthly": "opted_in"])
        // Many statements for the same customer and topic in one statement: the latest of them holds.
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                INSERT INTO consents (customer_id, topic, status, recorded_at, source)
                SELECT \(bram.id), 'newsletter:weekly', CASE WHEN i % 2 = 0 THEN 'opted_in' ELSE 'withdrawn' END, \(Self.now) + i * interval '1 minute', 'import'
                FROM generate_series(1, 9) AS i
                """)
        }
        #expect(try await state()["bram newsletter:weekly"] == "withdrawn")
        _ = try await env.db.withTenant(tenant) { tx in
            try await Consents.record(
                ConsentDraft(topic: "newsletter:weekly", status: "opted_in"), customerID: bram.id, by: Self.staff, now: Self.now + 86_400, in: tx)
        }
        #expect(try await state()["bram newsletter:weekly"] == "opted_in")
        // A merge moves the duplicate's statements: its state goes, the survivor's is the latest of both histories.
        _ = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.merge(survivorID: anna.id, duplicateID: bram.id, by: Self.staff, now: Self.now + 90_000, in: tx)
        }
        #expect(try await state() == ["anna newsletter:weekly": "opted_in", "anna booktips:monthly": "opted_in"])
        #expect(try await state() == (try await definition()))
        // The library's role reads the state but cannot write it: it only ever follows the evidence.
        await #expect {
            try await env.db.withTenant(tenant) { tx in try await tx.query("UPDATE consent_state SET status = 'confirmed'") }
        } throws: { ($0 as? PSQLError)?.serverInfo?[.sqlState] == "42501" }
    }

    @Test func exportHoldsEverythingAndIsAudited() async throws {
        let (env, tenant) = try await setUp()
        let customer = try await create(Self.member(), env, tenant)
        let export = try await env.db.withTenant(tenant) { tx in
            _ = try await Consents.record(
                ConsentDraft(topic: "booktips:monthly", status: "opted_in"), customerID: customer.id, by: Self.staff, now: Self.now, in: tx)
            return try await CustomerPrivacy.export(id: customer.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(export.customer.email == customer.email)
        #expect(export.consentHistory.map(\.topic) == ["booktips:monthly"])
        #expect(export.timeline.map(\.event).contains("customer.created"))
        let audited = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*) FROM audit_log WHERE action = 'customer.exported'").decode(Int.self).reduce(0, +)
        }
        #expect(audited == 1)
    }
}

extension CustomerDraft {
    static func member(dutchBirthDate: String) -> CustomerDraft {
        var draft = CustomerDraft(roles: ["member"])
        draft.memberNumber = "Y1"
        draft.memberType = "youth"
        draft.lastName = "de Boer"
        draft.birthDate = dutchBirthDate
        return draft
    }
}

@Suite struct ActivityTests {
    static let now = CustomerTests.now
    static let staff = CustomerTests.staff

    func setUp() async throws -> (TestEnvironment, Tenant) {
        let env = try await TestEnvironment.forSuite("Activities")
        return (env, try await env.createTenant("act"))
    }

    func customer(_ env: TestEnvironment, _ tenant: Tenant) async throws -> Customer {
        let valid = try CustomerTests.member().validate(today: CustomerTests.today)
        return try await env.db.withTenant(tenant) { tx in try await Customers.create(valid, by: Self.staff, now: Self.now, in: tx) }
    }

    @Test func capacityFillsThenWaitlistsAndACancellationPromotesTheFirstWaiting() async throws {
        let (env, tenant) = try await setUp()
        let (a, b, c) = (try await customer(env, tenant), try await customer(env, tenant), try await customer(env, tenant))
        let activity = try await env.db.withTenant(tenant) { tx in
            try await Activities.create(
                ActivityDraft(
                    title: "Voorlezen voor peuters", category: "Youth", startsAt: Self.now + 86400,
                    endsAt: Self.now + 86400 + 3600, capacity: 2), by: Self.staff, now: Self.now, in: tx)
        }
        let registrations = try await env.db.withTenant(tenant) { tx in
            [
                try await Activities.register(
                    customerID: a.id, activityID: activity.id, source: .staff, pricePaidCents: 0, by: Self.staff, now: Self.now, in: tx),
                try await Activities.register(
                    customerID: b.id, activityID: activity.id, source: .ticketing, pricePaidCents: 350, by: Self.staff, now: Self.now + 1, in: tx),
                try await Activities.register(
                    customerID: c.id, activityID: activity.id, source: .web, pricePaidCents: 0, by: Self.staff, now: Self.now + 2, in: tx),
            ]
        }
        #expect(registrations.map(\.status) == [.booked, .booked, .waitlisted])
        await #expect(throws: ActivityError.alreadyRegistered) {
            try await env.db.withTenant(tenant) { tx in
                try await Activities.register(
                    customerID: a.id, activityID: activity.id, source: .staff, pricePaidCents: 0, by: Self.staff, now: Self.now, in: tx)
            }
        }
        _ = try await env.db.withTenant(tenant) { tx in
            try await Activities.setStatus(registrationID: registrations[0].id, to: .cancelled, by: Self.staff, now: Self.now + 10, in: tx)
        }
        let after = try await env.db.withTenant(tenant) { tx in try await Activities.registrations(activityID: activity.id, in: tx) }
        #expect(Dictionary(uniqueKeysWithValues: after.map { ($0.customerID, $0.status) }) == [a.id: .cancelled, b.id: .booked, c.id: .booked])
        #expect(try await env.db.withTenant(tenant) { tx in try await Activities.find(activity.id, in: tx) }.placesTaken == 2)
    }

    @Test func onlyAttendeesEvaluateAndOnlyOnce() async throws {
        let (env, tenant) = try await setUp()
        let guest = try await customer(env, tenant)
        let registration = try await env.db.withTenant(tenant) { tx in
            let activity = try await Activities.create(
                ActivityDraft(title: "Schrijfworkshop", category: "adults", startsAt: Self.now - 7200, endsAt: Self.now - 3600),
                by: Self.staff, now: Self.now, in: tx)
            return try await Activities.register(
                customerID: guest.id, activityID: activity.id, source: .staff, pricePaidCents: 0, by: Self.staff, now: Self.now, in: tx)
        }
        await #expect(throws: ActivityError.notAttended) {
            try await env.db.withTenant(tenant) { tx in
                try await Activities.evaluate(registrationID: registration.id, score: 8, comment: nil, by: Self.staff, now: Self.now, in: tx)
            }
        }
        try await env.db.withTenant(tenant) { tx in
            _ = try await Activities.setStatus(registrationID: registration.id, to: .attended, by: Self.staff, now: Self.now, in: tx)
            try await Activities.evaluate(registrationID: registration.id, score: 9, comment: "Inspirerend", by: Self.staff, now: Self.now, in: tx)
        }
        await #expect(throws: ActivityError.self) {
            try await env.db.withTenant(tenant) { tx in
                try await Activities.evaluate(registrationID: registration.id, score: 11, comment: nil, by: Self.staff, now: Self.now, in: tx)
            }
        }
        let profile = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.profile(id: guest.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(profile.registrations.map(\.status) == [.attended])
    }

    @Test func complaintsGetADueDateAndNeedAResolution() async throws {
        let (env, tenant) = try await setUp()
        let member = try await customer(env, tenant)
        let complaint = try await env.db.withTenant(tenant) { tx in
            try await Complaints.create(
                ComplaintDraft(customerID: member.id, channel: "email", category: "Fines", description: "Boete onterecht"),
                by: Self.staff, now: Self.now, in: tx)
        }
        #expect(complaint.dueAt == Self.now + 14 * 86400)
        #expect(complaint.status == .new)
        let profile = try await env.db.withTenant(tenant) { tx in
            try await CustomerPrivacy.profile(id: member.id, by: Self.staff, now: Self.now, in: tx)
        }
        #expect(profile.openComplaints.map(\.id) == [complaint.id])
        await #expect {
            try await env.db.withTenant(tenant) { tx in
                try await Complaints.update(id: complaint.id, ComplaintChange(status: "resolved"), by: Self.staff, now: Self.now, in: tx)
            }
        } throws: { error in
            guard case .invalid(let errors) = error as? ComplaintError else { return false }
            return errors.map(\.field) == ["resolution"]
        }
        let resolved = try await env.db.withTenant(tenant) { tx in
            try await Complaints.update(
                id: complaint.id, ComplaintChange(status: "resolved", resolution: "Boete kwijtgescholden"), by: Self.staff, now: Self.now + 60, in: tx
            )
        }
        #expect(resolved.resolvedAt == Self.now + 60)
        let open = try await env.db.withTenant(tenant) { tx in
            try await Complaints.list(openOnly: true, customerID: member.id, after: nil, limit: 10, in: tx)
        }
        #expect(open.isEmpty)
    }
}
