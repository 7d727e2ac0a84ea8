import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringB2C
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import Testing

/// The front desk's activity and complaint pages against a real PostgreSQL.
@Suite("Front desk pages") struct FrontDeskPagesTests {
    @Test func atTheDoorCheckInMarksNoShowsAndACancellationMovesTheWaitingListUp() async throws {
        let env = try await TestEnvironment.forSuite("WebDesk")
        let tenant = try await env.createTenant("wd")
        let desk = try await env.createUser(in: tenant, role: .frontdesk)
        var made: [Customer] = []
        for index in 0..<5 {
            made.append(
                try await WebAppTests.customer(
                    in: tenant, env: env, lastName: "Gast\(index)", memberNumber: "55\(index)\(Int.random(in: 10_000...99_999))"))
        }
        let people = made
        let clock = TestClock(Date())
        let activity = try await env.db.withTenant(tenant) { tx in
            try await Activities.create(
                ActivityDraft(title: "Voorlezen", category: "jeugd", startsAt: clock.now + 600, endsAt: clock.now + 4200, capacity: 4),
                by: .system, now: clock.now, in: tx)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let browser = Browser(client)
            try await browser.signIn(desk.email, password: TestEnvironment.password, library: tenant.slug.value)
            let path = "/activiteiten/\(activity.id.uuidString.lowercased())"
            for person in people {
                try await browser.get(path)
                let registered = try await browser.post(path + "/aanmelden", [("klant", person.memberNumber ?? "")])
                #expect(registered.status == .seeOther)
            }
            let full = try await browser.get(path)
            #expect(full.contains("Vol, 1 op de wachtlijst"))
            #expect(full.contains("Gast4"))
            let again = try await browser.post(path + "/aanmelden", [("klant", people[0].memberNumber ?? "")])
            #expect(again.status == .unprocessableContent)
            #expect(again.contains("al aangemeld"))

            let roster = try await env.db.withTenant(tenant) { tx in try await Activities.registrations(activityID: activity.id, in: tx) }
            let byCustomer = Dictionary(uniqueKeysWithValues: roster.map { ($0.customerID, $0.id) })
            try await browser.get(path + "/deur")
            for index in 0..<3 {
                let id = try #require(byCustomer[people[index].id]).uuidString.lowercased()
                let tapped = try await browser.post(path + "/aanmeldingen/\(id)", [("status", "attended"), ("terug", "deur")])
                #expect(tapped.location == path + "/deur#r-\(id)")
            }
            let fourth = try #require(byCustomer[people[3].id]).uuidString.lowercased()
            try await browser.post(path + "/aanmeldingen/\(fourth)", [("status", "no_show"), ("terug", "deur")])
            let door = try await browser.get(path + "/deur")
            #expect(door.html.components(separatedBy: "is-attended").count - 1 == 3)
            #expect(door.html.components(separatedBy: "is-noshow").count - 1 == 1)

            // A booking cancelled: the first on the waiting list gets the place.
            try await browser.post(path + "/aanmeldingen/\(fourth)", [("status", "booked")])
            try await browser.post(path + "/aanmeldingen/\(fourth)", [("status", "cancelled")])
            let after = try await env.db.withTenant(tenant) { tx in try await Activities.registrations(activityID: activity.id, in: tx) }
            #expect(after.first { $0.customerID == people[4].id }?.status == .booked)
            #expect(after.first { $0.customerID == people[3].id }?.status == .cancelled)

            // A registration of another activity cannot be changed through this one.
            let other = try await env.db.withTenant(tenant) { tx in
                try await Activities.create(
                    ActivityDraft(title: "Leesclub", category: "volwassenen", startsAt: clock.now + 600, endsAt: clock.now + 4200),
                    by: .system, now: clock.now, in: tx)
            }
            let wrongPair = try await browser.post(
                "/activiteiten/\(other.id.uuidString.lowercased())/aanmeldingen/\(fourth)", [("status", "attended")])
            #expect(wrongPair.status == .notFound)
        }
    }

    @Test func complaintsAreListedOverdueFirstAndAreTakenAndResolved() async throws {
        let env = try await TestEnvironment.forSuite("WebDesk")
        let tenant = try await env.createTenant("wd")
        let desk = try await env.createUser(in: tenant, role: .frontdesk)
        let analyst = try await env.createUser(in: tenant, role: .analyst)
        let customer = try await WebAppTests.customer(in: tenant, env: env)
        let clock = TestClock(Date())
        let (late, soon) = try await env.db.withTenant(tenant) { tx in
            let soon = try await Complaints.create(
                ComplaintDraft(customerID: customer.id, channel: "desk", category: "wachttijd", description: "Lang gewacht"),
                by: .system, now: clock.now, in: tx)
            let late = try await Complaints.create(
                ComplaintDraft(customerID: nil, channel: "email", category: "boete", description: "Boete klopt niet"),
                by: .system, now: clock.now - 20 * 86_400, in: tx)
            return (late, soon)
        }
        let app = try await env.webApplication(try await env.services(clock: clock))
        try await app.test(.router) { client in
            let reader = Browser(client)
            try await reader.signIn(analyst.email, password: TestEnvironment.password, library: tenant.slug.value)
            let list = try await reader.get("/klachten")
            #expect(list.status == .ok)
            let lateAt = try #require(list.html.range(of: "boete"))
            let soonAt = try #require(list.html.range(of: "wachttijd"))
            #expect(lateAt.lowerBound < soonAt.lowerBound)
            #expect(list.contains("dagen te laat"))
            let readOnly = try await reader.get("/klachten/\(late.id.uuidString.lowercased())")
            #expect(!readOnly.contains("Zelf oppakken"))

            let browser = Browser(client)
            try await browser.signIn(desk.email, password: TestEnvironment.password, library: tenant.slug.value)
            let path = "/klachten/\(soon.id.uuidString.lowercased())"
            let page = try await browser.get(path)
            #expect(page.contains("Zelf oppakken"))
            #expect(try await browser.post(path, [("action", "take")]).status == .seeOther)
            let taken = try await browser.get(path)
            #expect(taken.contains("in behandeling"))
            #expect(!taken.contains("Zelf oppakken"))
            let empty = try await browser.post(path, [("action", "resolve"), ("resolution", "  ")])
            #expect(empty.status == .unprocessableContent)
            #expect(empty.contains("Schrijf op hoe de klacht is afgehandeld."))
            #expect(
                try await browser.post(path, [("action", "resolve"), ("resolution", "Excuses aangeboden; boek gereserveerd.")]).status == .seeOther)
        }
        let resolved = try await env.db.withTenant(tenant) { tx in try await Complaints.find(soon.id, in: tx) }
        #expect(resolved?.status == .resolved)
        #expect(resolved?.ownerUserID == desk.id)
    }
}
