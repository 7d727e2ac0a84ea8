import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

@testable import KringWeb

/// Bestellingen and overeenkomsten in the browser against a real PostgreSQL: a Dutch amount, the checks at the field,
/// a change that someone else made first, the renewal task an agreement gives the account owner, and another
/// library's (or another organisation's) records out of reach.
@Suite("Order and agreement pages") struct OrderPagesTests {
    @Test func dutchAmountsParseAndOtherTextIsRefused() {
        #expect(Dutch.cents("1.250,50") == 125_050)
        #expect(Dutch.cents("€ 1.250") == 125_000)
        #expect(Dutch.cents("1250,5") == 125_050)
        #expect(Dutch.cents("12.50") == 1_250)
        #expect(Dutch.cents("1.250.000") == 125_000_000)
        #expect(Dutch.cents("0") == 0)
        for bad in ["", "twaalf", "12,345", "1.25.0", "-5", "1,2,3", "€", "12.5.1"] { #expect(Dutch.cents(bad) == nil, "\(bad)") }
        #expect(Dutch.amountField(cents: 125_050) == "1250,50")
    }

    @Test func anOrderAndAnAgreementAreAddedChangedAndTheRenewalTaskFollows() async throws {
        let env = try await TestEnvironment.forSuite("WebOrders")
        let clock = TestClock(Date())
        let tenant = try await env.createTenant("wo")
        let other = try await env.createTenant("wp")
        let manager = try await env.createUser(in: tenant, role: .relations)
        let owner = try await env.createUser(in: tenant, role: .relations)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let (school, gemeente) = try await env.db.withTenant(tenant) { tx in
            let school = try await Organisations.create(
                try OrganisationDraft(name: "OBS De Linde", type: "primary_school", status: "active").validate(), by: .system, now: clock.now, in: tx)
            var draft = OrganisationDraft(name: "Gemeente Bloemendaal", type: "municipality", status: "active")
            draft.accountOwnerUserID = owner.id
            let gemeente = try await Organisations.create(try draft.validate(), by: .system, now: clock.now, in: tx)
            return (school.id.uuidString.lowercased(), gemeente.id.uuidString.lowercased())
        }
        let (strangeOrganisation, strangeOrder) = try await env.db.withTenant(other) { tx in
            let organisation = try await Organisations.create(
                try OrganisationDraft(name: "OBS Elders", type: "primary_school").validate(), by: .system, now: clock.now, in: tx)
            let order = try await Orders.create(
                try OrderDraft(organisationID: organisation.id, product: "Elders", periodStart: "2026-01-01", amountCents: 100).validate(),
                by: .system, now: clock.now, in: tx)
            return (organisation.id.uuidString.lowercased(), order.id.uuidString.lowercased())
        }
        let today = CalendarDate(clock.now)
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(manager.email, password: TestEnvironment.password, library: tenant.slug.value)
            let view = try await browser.get("/relaties/\(school)")
            #expect(view.contains("href=\"/relaties/\(school)/bestellingen/nieuw\""))
            #expect(view.contains("href=\"/relaties/\(school)/overeenkomsten/nieuw\""))

            // An order: what is wrong comes back at its field, in Dutch, with what was typed.
            let form = try await browser.get("/relaties/\(school)/bestellingen/nieuw")
            #expect(form.status == .ok)
            #expect(form.contains("value=\"\(today.description)\""), "starts today")
            let wrong = try await browser.post(
                "/relaties/\(school)/bestellingen/nieuw",
                [
                    ("kind", "order"), ("title", ""), ("start", "2027-02-01"), ("end", "2027-01-01"), ("quantity", "0"), ("amount", "twaalf"),
                    ("status", "ordered"),
                ])
            #expect(wrong.status == .unprocessableContent)
            for text in [
                "Vul in wat er besteld is.", "De einddatum ligt vóór de begindatum.", "Vul een aantal in van 1 tot 1.000.000.",
                "Geen bedrag in euro; schrijf bijvoorbeeld 1.250,00.", "value=\"twaalf\"",
            ] {
                #expect(wrong.contains(text), "\(text)")
            }
            let added = try await browser.post(
                "/relaties/\(school)/bestellingen/nieuw",
                [
                    ("kind", "order"), ("title", "Voorleesprogramma groep 3"), ("start", today.description), ("end", ""), ("quantity", "4"),
                    ("amount", "1.250,50"), ("status", "ordered"), ("notes", "Via de leescoördinator"),
                ])
            #expect(added.location == "/relaties/\(school)?gedaan=bestelling#bestellingen")
            let withOrder = try await browser.get("/relaties/\(school)?gedaan=bestelling")
            #expect(withOrder.contains("De bestelling is opgeslagen."))
            #expect(withOrder.contains("Voorleesprogramma groep 3</a>"))
            #expect(withOrder.contains("<strong>€ 1.250,50</strong>"), "the year's total")
            let order = try await env.db.withTenant(tenant) { tx in
                try #require(try await Orders.list(Orders.Filter(organisationID: UUID(uuidString: school), limit: 10), in: tx).first)
            }
            #expect(order.amountCents == 125_050 && order.quantity == 4 && order.status == .ordered)
            let orderPath = "/relaties/\(school)/bestellingen/\(order.id.uuidString.lowercased())"

            // Changed: invoiced. Someone who opened the form before that change is refused, and sees the new version.
            let edit = try await browser.get(orderPath)
            #expect(edit.contains("value=\"1250,50\"") && edit.contains("Bestelling wijzigen"))
            let staleVersion = try #require(edit.html.firstMatch(of: /name="version" value="(\d+)"/)).1
            clock.advance(by: 60)
            let invoiced = try await browser.post(
                orderPath,
                [
                    ("version", String(staleVersion)), ("kind", "order"), ("title", "Voorleesprogramma groep 3"), ("start", today.description),
                    ("quantity", "4"), ("amount", "1250,50"), ("status", "invoiced"),
                ])
            #expect(invoiced.status == .seeOther)
            let late = try await browser.post(
                orderPath,
                [
                    ("version", String(staleVersion)), ("kind", "order"), ("title", "Iets anders"), ("start", today.description), ("quantity", "1"),
                    ("amount", "10"), ("status", "cancelled"),
                ])
            #expect(late.status == .unprocessableContent)
            #expect(late.contains("Iemand anders heeft dit intussen gewijzigd"))
            #expect(late.contains("<option value=\"invoiced\" selected>"), "the form shows the stored version")
            let stored = try await env.db.withTenant(tenant) { tx in try await Orders.find(id: order.id, in: tx) }
            #expect(stored.status == .invoiced && stored.product == "Voorleesprogramma groep 3")

            // An agreement with a renewal date: the account owner gets the task, 30 days before.
            let renewal = today.adding(days: 90)
            let agreed = try await browser.post(
                "/relaties/\(gemeente)/overeenkomsten/nieuw",
                [
                    ("kind", "subsidy"), ("title", "Subsidie bibliotheekwerk 2027"), ("start", today.description), ("end", renewal.description),
                    ("amount", "€ 412.000"), ("status", "active"), ("renewal", renewal.description),
                    ("notes", "Leesbevordering en digitale inclusie"),
                ])
            #expect(agreed.location == "/relaties/\(gemeente)?gedaan=overeenkomst-taak#overeenkomsten")
            let municipality = try await browser.get("/relaties/\(gemeente)?gedaan=overeenkomst-taak")
            #expect(municipality.contains("De taak om de verlenging voor te bereiden staat bij de open taken."))
            #expect(municipality.contains("Subsidie bibliotheekwerk 2027</a>"))
            #expect(municipality.contains("vóór \(Dutch.date(renewal))"))
            let agreement = try await env.db.withTenant(tenant) { tx in
                try #require(try await Agreements.list(Agreements.Filter(organisationID: UUID(uuidString: gemeente), limit: 10), in: tx).first)
            }
            #expect(agreement.amountCents == 41_200_000)
            let taskID = try #require(agreement.renewalTaskID)
            let task = try await env.db.withTenant(tenant) { tx in try await RelationTasks.find(id: taskID, now: clock.now, in: tx) }
            #expect(task.dueOn == renewal.adding(days: -Agreements.renewalLeadDays))
            #expect(task.assigneeUserID == owner.id, "the account owner, not the person who typed it")
            #expect(task.status == .open)
            #expect(municipality.contains(task.title), "the open tasks show the renewal")
            let agreementPath = "/relaties/\(gemeente)/overeenkomsten/\(agreement.id.uuidString.lowercased())"
            let agreementForm = try await browser.get(agreementPath)
            #expect(agreementForm.contains("De verlengingstaak staat open, uiterlijk \(Dutch.date(task.dueOn))."))
            #expect(agreementForm.contains("value=\"412000,00\""))
            // Ended: the renewal task lapses.
            let version = try #require(agreementForm.html.firstMatch(of: /name="version" value="(\d+)"/)).1
            let ended = try await browser.post(
                agreementPath,
                [
                    ("version", String(version)), ("kind", "subsidy"), ("title", "Subsidie bibliotheekwerk 2027"), ("start", today.description),
                    ("end", renewal.description), ("amount", "412000"), ("status", "ended"), ("renewal", renewal.description),
                ])
            #expect(ended.location == "/relaties/\(gemeente)?gedaan=overeenkomst#overeenkomsten")
            let lapsed = try await env.db.withTenant(tenant) { tx in try await RelationTasks.find(id: taskID, now: clock.now, in: tx) }
            #expect(lapsed.status == .cancelled)
            #expect(try await browser.get(agreementPath).contains("De verlengingstaak is vervallen."))

            // Out of reach: another library's organisation and order, and this library's order under another organisation.
            #expect(try await browser.get("/relaties/\(strangeOrganisation)/bestellingen/nieuw").status == .notFound)
            #expect(try await browser.get("/relaties/\(school)/bestellingen/\(strangeOrder)").status == .notFound)
            #expect(try await browser.get("/relaties/\(gemeente)/bestellingen/\(order.id.uuidString.lowercased())").status == .notFound)
            #expect(try await browser.get("/relaties/\(school)/overeenkomsten/\(agreement.id.uuidString.lowercased())").status == .notFound)
            let posted = try await browser.post(
                "/relaties/\(strangeOrganisation)/bestellingen/nieuw",
                [("kind", "order"), ("title", "X"), ("start", today.description), ("quantity", "1"), ("amount", "1"), ("status", "ordered")])
            #expect(posted.status == .notFound)
            #expect(try await browser.get("/relaties/\(school)/bestellingen/niet-een-id").status == .notFound)

            // An analyst reads the account view but gets no forms.
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let readOnly = try await reader.get("/relaties/\(school)")
            #expect(readOnly.contains("Voorleesprogramma groep 3") && !readOnly.contains("Bestelling toevoegen"))
            #expect(try await reader.get(orderPath).status == .forbidden)
        }
        let strangeCount = try await env.db.withTenant(other) { tx in
            try await tx.query("SELECT count(*)::int FROM orders").decode(Int.self).first { _ in true }
        }
        #expect(strangeCount == 1, "nothing was added to the other library")
        let probes = try await env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT count(*)::int FROM audit_log WHERE action = 'access.unknown_resource' AND actor_user_id = \(manager.id)")
                .decode(Int.self).first { _ in true }
        }
        #expect(probes == 3, "the three probes for another library's records are audited")
    }
}
