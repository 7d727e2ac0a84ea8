import Foundation
import KringB2B
import KringCore
import KringDatabase
import KringTestSupport
import Testing

/// Shared set-up of the B2B tests: a fixed Wednesday, a staff actor, drafts that pass validation.
enum B2B {
    /// Wednesday 2026-11-25, 12:00 UTC.
    static let now = Date(timeIntervalSince1970: 1_795_608_000)
    static let today = CalendarDate(year: 2026, month: 11, day: 25)!
    static let day: TimeInterval = 86_400
    static let staff = AuditActor(userID: UUID(), apiKeyID: nil)

    static func setUp(_ suite: String) async throws -> (TestEnvironment, Tenant) {
        let env = try await TestEnvironment.forSuite(suite)
        return (env, try await env.createTenant("b2b"))
    }

    static func organisation(
        _ name: String, type: String = "primary_school", parent: UUID? = nil, postcode: String? = "2011 AB",
        owner: UUID? = nil, in tenant: Tenant, _ env: TestEnvironment
    ) async throws -> Organisation {
        var draft = OrganisationDraft(name: name, type: type)
        draft.parentID = parent
        draft.postcode = postcode
        draft.city = "Haarlem"
        draft.accountOwnerUserID = owner
        let valid = try draft.validate()
        return try await env.db.withTenant(tenant) { tx in try await Organisations.create(valid, by: staff, now: now, in: tx) }
    }

    static func contact(
        _ lastName: String, at organisation: UUID, as role: DMURole, from: String? = nil, in tenant: Tenant,
        _ env: TestEnvironment
    ) async throws -> ContactDetail {
        let draft = ContactDraft(
            firstName: "Kim", lastName: lastName, email: "\(lastName.lowercased())-\(UUID().uuidString.prefix(6).lowercased())@school.example",
            roles: [ContactRoleDraft(organisationID: organisation, dmuRole: role.rawValue, jobTitle: "Directeur", activeFrom: from)])
        let valid = try draft.validate(today: today)
        return try await env.db.withTenant(tenant) { tx in try await Contacts.create(valid, by: staff, now: now, in: tx) }
    }

    static func auditCount(_ action: String, subject: UUID? = nil, in tenant: Tenant, _ env: TestEnvironment) async throws -> Int {
        try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT count(*)::int FROM audit_log WHERE action = \(action) AND (\(subject?.uuidString.lowercased())::text IS NULL OR subject_id = \(subject?.uuidString.lowercased()))
                """
            ).decode(Int.self).reduce(0, +)
        }
    }
}

@Suite struct OrganisationTests {
    @Test func validationReportsEveryBadFieldAtOnce() {
        var draft = OrganisationDraft(name: " ", type: "School Board!", status: "sleeping")
        draft.postcode = "0123 AB"
        draft.website = "not a site"
        draft.houseNumber = "a12"
        #expect {
            try draft.validate()
        } throws: { error in
            guard case .invalid(let errors) = error as? RelationsError else { return false }
            return Set(errors.map(\.field)) == ["name", "type", "status", "postcode", "website", "house_number"]
        }
    }

    @Test func valuesAreNormalised() throws {
        var draft = OrganisationDraft(name: "  OBS De Ster ", type: "PRIMARY_SCHOOL")
        draft.postcode = "2011ab"
        draft.website = "www.obsdester.nl"
        draft.tags = ["Leesbevordering", "leesbevordering", " PO "]
        let valid = try draft.validate()
        #expect(valid.name == "OBS De Ster")
        #expect(valid.type == "primary_school")
        #expect(valid.status == .active)
        #expect(valid.postcode == "2011 AB")
        #expect(valid.website == "https://www.obsdester.nl")
        #expect(valid.tags == ["leesbevordering", "po"])
    }

    @Test func nameAndPostcodeIdentifyAnOrganisationAndTypesMustExist() async throws {
        let (env, tenant) = try await B2B.setUp("Organisations")
        _ = try await B2B.organisation("De Regenboog", in: tenant, env)
        await #expect(
            throws: RelationsError.invalid([
                FieldError(field: "name", message: "This library has an organisation with this name and postcode already.")
            ])
        ) {
            _ = try await B2B.organisation("de regenboog", in: tenant, env)
        }
        // Another postcode is another school.
        _ = try await B2B.organisation("De Regenboog", postcode: "2012 CD", in: tenant, env)
        await #expect(throws: RelationsError.self) { _ = try await B2B.organisation("Bestuur", type: "school_board", in: tenant, env) }
        let type = try await env.db.withTenant(tenant) { tx in
            try await OrganisationTypes.create(code: "school_board", name: "Schoolbestuur", by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(type.code == "school_board")
        #expect(type.name == "Schoolbestuur")
        #expect(!type.builtIn)
        let board = try await B2B.organisation("Bestuur", type: "school_board", in: tenant, env)
        #expect(board.type == "school_board")
        let types = try await env.db.withTenant(tenant) { tx in try await OrganisationTypes.list(in: tx) }
        #expect(
            types.filter(\.builtIn).map(\.code).sorted() == [
                "childcare", "friend_sponsor", "fund", "municipality", "other", "partner",
                "primary_school", "referrer", "secondary_school",
            ])
        #expect(types.contains(type))
    }

    @Test func aParentCannotLieBelowItsChild() async throws {
        let (env, tenant) = try await B2B.setUp("Organisations")
        let board = try await B2B.organisation("Stichting Spaarnesant", type: "other", in: tenant, env)
        let school = try await B2B.organisation("Ster", parent: board.id, in: tenant, env)
        var draft = OrganisationDraft(name: board.name, type: board.type)
        draft.postcode = board.postcode
        draft.parentID = school.id
        let valid = try draft.validate()
        await #expect(throws: RelationsError.invalid([FieldError(field: "parent_id", message: "An organisation cannot lie below itself.")])) {
            _ = try await env.db.withTenant(tenant) { tx in
                try await Organisations.replace(id: board.id, with: valid, expectedVersion: 1, by: B2B.staff, now: B2B.now, in: tx)
            }
        }
    }

    @Test func replaceRefusesALostUpdateAndAuditsChangedFields() async throws {
        let (env, tenant) = try await B2B.setUp("Organisations")
        let school = try await B2B.organisation("Het Palet", in: tenant, env)
        var draft = OrganisationDraft(name: "Het Palet", type: "primary_school", status: "former")
        draft.postcode = "2011 AB"
        let valid = try draft.validate()
        let updated = try await env.db.withTenant(tenant) { tx in
            try await Organisations.replace(id: school.id, with: valid, expectedVersion: 1, by: B2B.staff, now: B2B.now, in: tx)
        }
        #expect(updated.version == 2)
        #expect(updated.status == .former)
        #expect(updated.city == nil)
        await #expect(throws: RelationsError.versionMismatch(current: 2)) {
            _ = try await env.db.withTenant(tenant) { tx in
                try await Organisations.replace(id: school.id, with: valid, expectedVersion: 1, by: B2B.staff, now: B2B.now, in: tx)
            }
        }
        let fields = try await env.db.withTenant(tenant) { tx in
            try await tx.query(
                "SELECT details->>'fields' FROM audit_log WHERE action = 'organisation.updated' AND subject_id = \(school.id.uuidString.lowercased())"
            )
            .decode(String.self).reduce(into: [String]()) { $0.append($1) }
        }
        #expect(fields == ["status city"])
    }

    @Test func anOrganisationWithHistoryIsNotDeleted() async throws {
        let (env, tenant) = try await B2B.setUp("Organisations")
        let school = try await B2B.organisation("De Klimop", in: tenant, env)
        let empty = try await B2B.organisation("Vergissing", in: tenant, env)
        _ = try await B2B.contact("Bakker", at: school.id, as: .gatekeeper, in: tenant, env)
        await #expect(throws: RelationsError.self) {
            try await env.db.withTenant(tenant) { tx in try await Organisations.delete(id: school.id, by: B2B.staff, now: B2B.now, in: tx) }
        }
        try await env.db.withTenant(tenant) { tx in try await Organisations.delete(id: empty.id, by: B2B.staff, now: B2B.now, in: tx) }
        await #expect(throws: RelationsError.notFound(.organisation)) {
            _ = try await env.db.withTenant(tenant) { tx in try await Organisations.find(id: empty.id, in: tx) }
        }
        #expect(try await B2B.auditCount("organisation.deleted", subject: empty.id, in: tenant, env) == 1)
    }

    @Test func searchFindsByNamePostcodeAndFiltersInKeysetOrder() async throws {
        let (env, tenant) = try await B2B.setUp("Organisations")
        let owner = UUID()
        let a = try await B2B.organisation("Bibliotheekpunt Zuid", type: "partner", postcode: "2033 AA", owner: owner, in: tenant, env)
        let b = try await B2B.organisation("Kinderopvang Zonnetje", type: "childcare", postcode: "2034 BB", in: tenant, env)
        _ = try await B2B.organisation("Gemeente Haarlem", type: "municipality", postcode: "2011 VB", in: tenant, env)
        func search(_ search: Organisations.Search) async throws -> [UUID] {
            try await env.db.withTenant(tenant) { tx in try await Organisations.search(search, in: tx) }.map(\.id)
        }
        #expect(try await search(.init(query: "zon")) == [b.id])
        #expect(try await search(.init(query: "2033aa")) == [a.id])
        #expect(try await search(.init(type: "childcare")) == [b.id])
        #expect(try await search(.init(accountOwnerUserID: owner)) == [a.id])
        let all = try await search(.init(query: "haarlem"))
        #expect(all.count == 3)
        let first = try await search(.init(query: "haarlem", limit: 2))
        let rest = try await search(.init(query: "haarlem", after: first.last, limit: 2))
        #expect(first + rest == all)
        #expect(all == all.sorted { $0.uuidString < $1.uuidString })
    }
}
