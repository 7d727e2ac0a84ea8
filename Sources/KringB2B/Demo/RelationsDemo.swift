import Foundation
import KringCore
import KringDatabase

/// Synthetic business relations for a demo library: the municipality with its performance agreement, a school
/// board with three schools and their decision-making units, a partner and a fund, orders, visit reports and tasks.
/// All names are made up; nothing here is a real person.
public struct RelationsDemo: Sendable {
    public let municipality: String
    /// The staff user who owns the accounts and gets the tasks (the demo's relations user), if there is one.
    public let accountOwner: UUID?

    public init(municipality: String, accountOwner: UUID?) {
        self.municipality = municipality
        self.accountOwner = accountOwner
    }

    /// Adds the relations; answers how many organisations it made.
    @discardableResult
    public func seed(by actor: AuditActor, now: Date, in tx: TenantTransaction) async throws -> Int {
        let today = CalendarDate(now)
        func day(_ offset: Int) -> String { CalendarDate(now.addingTimeInterval(TimeInterval(offset) * 86_400)).description }
        var made = 0
        func organisation(_ name: String, type: String, parent: UUID? = nil, postcode: String, tags: [String] = []) async throws -> UUID {
            var draft = OrganisationDraft(name: name, type: type, status: "active")
            draft.parentID = parent
            draft.postcode = postcode
            draft.city = municipality
            draft.municipality = municipality
            draft.accountOwnerUserID = accountOwner
            draft.tags = tags
            made += 1
            return try await Organisations.create(try draft.validate(), by: actor, now: now, in: tx).id
        }
        func contact(_ first: String, _ last: String, at organisation: UUID, _ role: DMURole, _ title: String, since: String) async throws -> UUID {
            let email = "\(first).\(last)".lowercased().replacingOccurrences(of: " ", with: "") + "@relatie.example"
            let draft = ContactDraft(
                firstName: first, lastName: last, email: email,
                roles: [ContactRoleDraft(organisationID: organisation, dmuRole: role.rawValue, jobTitle: title, activeFrom: since)])
            return try await Contacts.create(try draft.validate(today: today), by: actor, now: now, in: tx).contact.id
        }

        let gemeente = try await organisation("Gemeente \(municipality)", type: "municipality", postcode: "2011 RD")
        let wethouder = try await contact(
            "Marieke", "Verbruggen", at: gemeente, .decisionMaker, "Wethouder cultuur en onderwijs", since: "2022-06-01")
        _ = try await contact("Joost", "Hendriks", at: gemeente, .advisor, "Beleidsadviseur cultuur", since: "2019-03-01")
        _ = try await contact("Ilse", "Brouwer", at: gemeente, .gatekeeper, "Secretariaat wethouder", since: "2021-01-01")
        _ = try await Agreements.create(
            try AgreementDraft(
                organisationID: gemeente, kind: "subsidy", title: "Prestatieafspraken bibliotheekwerk \(today.year)",
                periodStart: "\(today.year)-01-01", periodEnd: "\(today.year)-12-31", amountCents: 1_250_000_00,
                deliverables: "Bibliotheek op school in alle basisscholen; taalhuis; 40 activiteiten voor volwassenen",
                renewalDate: day(45), status: "active"
            ).validate(), by: actor, now: now, in: tx)
        _ = try await Interactions.create(
            try InteractionDraft(
                organisationID: gemeente, kind: "meeting", subject: "Jaargesprek prestatieafspraken",
                occurredAt: now.addingTimeInterval(-20 * 86_400),
                report: "Voortgang besproken; de gemeente wil meer bereik onder laaggeletterden.", followUp: "Cijfers taalhuis sturen",
                staffUserIDs: accountOwner.map { [$0] }, contactIDs: [wethouder],
                followUpTask: TaskDraft(title: "Cijfers taalhuis naar de wethouder", dueOn: day(-3), assigneeUserID: accountOwner)
            ).validate(now: now), by: actor, now: now, in: tx)

        if try await tx.query("SELECT count(*)::int FROM organisation_types WHERE code = 'school_board'").decode(Int.self).reduce(0, +) == 0 {
            _ = try await OrganisationTypes.create(code: "school_board", name: "Schoolbestuur", by: actor, now: now, in: tx)
        }
        let board = try await organisation("Stichting Spaarnestroom Onderwijs", type: "school_board", postcode: "2012 KL")
        _ = try await contact("Pieter", "van Leeuwen", at: board, .decisionMaker, "Bestuurder", since: "2018-09-01")
        // School, postcode, then director, reading coordinator and administration (first and last names).
        let schools = [
            ("OBS De Ster", "2013 AB", ("Anouk", "Visser"), ("Lotte", "de Wit"), ("Sanne", "Bakker")),
            ("CBS Het Kompas", "2014 CD", ("Ruben", "Smit"), ("Noor", "Jacobs"), ("Ellen", "Koster")),
            ("Basisschool De Regenboog", "2015 EF", ("Fatma", "Yilmaz"), ("Daan", "Peters"), ("Mirjam", "Vos")),
        ]
        for (index, (name, postcode, director, coordinator, office)) in schools.enumerated() {
            let school = try await organisation(name, type: "primary_school", parent: board, postcode: postcode, tags: ["bibliotheek op school"])
            let directorID = try await contact(director.0, director.1, at: school, .decisionMaker, "Directeur", since: "2020-08-01")
            _ = try await contact(coordinator.0, coordinator.1, at: school, .advisor, "Leescoördinator", since: "2021-08-01")
            _ = try await contact(office.0, office.1, at: school, .gatekeeper, "Administratie", since: "2022-08-01")
            _ = try await Orders.create(
                try OrderDraft(
                    organisationID: school, kind: "subscription", product: "De Bibliotheek op school", periodStart: "\(today.year)-08-01",
                    periodEnd: "\(today.year + 1)-07-31", quantity: 1, amountCents: 3_500_00, status: "invoiced"
                ).validate(), by: actor, now: now, in: tx)
            if index == 0 {
                _ = try await Orders.create(
                    try OrderDraft(
                        organisationID: school, kind: "order", product: "Voorleesproject groep 3", periodStart: day(30), quantity: 2,
                        amountCents: 450_00, status: "ordered"
                    ).validate(), by: actor, now: now, in: tx)
                _ = try await Interactions.create(
                    try InteractionDraft(
                        organisationID: school, kind: "visit_report", subject: "Schoolbezoek leesplan",
                        occurredAt: now.addingTimeInterval(-7 * 86_400),
                        report: "Leesplan besproken met directie en leescoördinator; behoefte aan extra collectie groep 5-6.",
                        followUp: "Offerte collectie sturen", staffUserIDs: accountOwner.map { [$0] }, contactIDs: [directorID],
                        followUpTask: TaskDraft(title: "Offerte extra collectie De Ster", dueOn: day(1), assigneeUserID: accountOwner)
                    ).validate(now: now), by: actor, now: now, in: tx)
            }
        }
        let partner = try await organisation("Stichting Taal Voor Iedereen", type: "partner", postcode: "2016 GH", tags: ["taalhuis"])
        _ = try await contact("Yusuf", "Demir", at: partner, .decisionMaker, "Coördinator", since: "2023-01-01")
        let fund = try await organisation("Cultuurfonds \(municipality)", type: "fund", postcode: "2017 JK")
        _ = try await contact("Hanneke", "Mulder", at: fund, .gatekeeper, "Programmamanager", since: "2020-01-01")
        _ = try await RelationTasks.create(
            try TaskDraft(
                title: "Aanvraag voorjaarsronde Cultuurfonds indienen", dueOn: day(10), assigneeUserID: accountOwner, organisationID: fund
            ).validate(), by: actor, now: now, in: tx)
        return made
    }
}
