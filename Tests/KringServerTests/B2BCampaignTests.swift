import Foundation
import HTTPTypes
import HummingbirdTesting
import KringAuth
import KringB2B
import KringCampaigns
import KringCore
import KringDatabase
import KringMail
import KringServer
import KringTestSupport
import PostgresNIO
import Testing

/// Mailings to business contacts: the education newsletter and the new-year greetings by relation type from the demo,
/// delivered to a real SMTP server; unsubscribing as a contact; segments and campaigns over HTTP.
@Suite struct B2BCampaignTests {
    func path(_ url: String) -> String { String(url.dropFirst("https://kring.test".count)) }

    static var decisionMakers: [String: Any] {
        [
            "subject": "b2b",
            "rule": [
                "all": [
                    ["field": "organisation_type", "op": "=", "value": "primary_school"],
                    ["field": "dmu_role", "op": "=", "value": "decision_maker"],
                ]
            ],
        ]
    }

    @Test func theRelationsMailingsReachTheContactsWhoAgreedAndTheLinkWithdrawsThem() async throws {
        let cast = try await TwoTenants.make(suite: "B2BCampaigns")
        let tenant = cast.a
        let start = cast.clock.now
        let seeded = try await cast.env.db.withTenant(tenant) { tx in
            try await RelationsDemo(municipality: "Haarlem", accountOwner: nil).seed(by: .system, now: start, in: tx)
            return try await CampaignsDemo(senderAddress: "relaties@bzk.example", senderName: "Bibliotheek Zuid-Kennemerland").seed(
                by: .system, now: start, in: tx)
        }
        let newsletter = try #require(seeded.educationNewsletter)
        #expect(seeded.newYearGreetings.count == 2)
        // A contact who left the school last month, and one whose address bounced: neither is mailed.
        let (leaver, bounced) = try await cast.env.db.withTenant(tenant) { tx in
            let leaver = try await tx.query("SELECT c.id FROM contacts c WHERE c.last_name = 'Smit'").decode(UUID.self).reduce(nil as UUID?) { $1 }
            let bounced = try await tx.query("SELECT c.email FROM contacts c WHERE c.last_name = 'Yilmaz'").decode(String.self).reduce(nil as String?)
            { $1 }
            try await tx.query(
                "UPDATE contact_roles SET active_to = \(CalendarDate(start.addingTimeInterval(-30 * 86_400)).description)::date WHERE contact_id = \(leaver)"
            )
            try await tx.query(
                "INSERT INTO suppressions (email_sha256, reason, created_at) VALUES (sha256(convert_to(\(bounced), 'UTF8')), 'hard_bounce', \(start))"
            )
            return (try #require(leaver), try #require(bounced))
        }
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let worker = SendWorker(
            db: cast.env.db, transport: try SMTPTransport(SMTPConfiguration(host: "127.0.0.1", port: sink.port, tls: .none, heloName: "kring.test")),
            links: TestEnvironment.links, now: cast.clock.closure, logger: .init(label: "b2b-campaigns"))
        func drain() async throws { while try await worker.runOnce() > 0 {} }
        func schedule(_ id: UUID) async throws -> Campaign {
            try await cast.env.db.withTenant(tenant) { tx in try await Campaigns.schedule(id: id, at: nil, by: .system, now: cast.clock.now, in: tx) }
        }
        // Who should get what, written by hand: active roles at organisations of the types, with an address, not suppressed.
        func expected(types: [String]) async throws -> [String: (first: String, organisation: String)] {
            try await cast.env.db.withTenant(tenant) { tx in
                let rows = try await tx.query(
                    """
                    SELECT DISTINCT ON (c.email) c.email, c.first_name, o.name FROM contacts c
                    JOIN contact_roles r ON r.contact_id = c.id JOIN organisations o ON o.id = r.organisation_id
                    WHERE o.type = ANY(\(types)) AND (r.active_to IS NULL OR r.active_to >= \(CalendarDate(start).description)::date) AND c.email <> \(bounced)
                    ORDER BY c.email
                    """
                ).decode((String, String, String).self)
                var result: [String: (String, String)] = [:]
                for try await (email, first, organisation) in rows { result[email] = (first, organisation) }
                return result
            }
        }

        let schools = try await expected(types: ["primary_school", "secondary_school", "school_board"])
        #expect(schools.count == 8)  // 3 schools x 3 and the board's director, less the leaver and the bounced address
        let started = try await schedule(newsletter)
        #expect(started.audience == .b2b)
        #expect(started.recipients == schools.count)
        try await drain()
        let mails = try sink.received()
        #expect(Set(mails.flatMap(\.recipients)) == Set(schools.keys))
        for mail in mails {
            let (first, organisation) = try #require(schools[mail.recipients[0]])
            #expect(mail.header("Subject") == "Nieuws voor \(organisation)")
            #expect(mail.parts[0].text?.contains("Beste \(first),") == true)
            #expect(mail.header("List-Unsubscribe")?.contains("https://kring.test/s/\(tenant.slug.value)/u/") == true)
            #expect(mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
        }

        // The new-year greetings, one by relation type.
        let partners = try await expected(types: ["municipality", "partner", "fund", "friend_sponsor"])
        #expect(partners.count == 5)
        for greeting in seeded.newYearGreetings { _ = try await schedule(greeting) }
        try await drain()
        let greetings = try sink.received().filter { $0.header("Subject")?.hasPrefix("Gelukkig ") == true }
        #expect(greetings.count == schools.count + partners.count)
        let toPartners = greetings.filter { partners.keys.contains($0.recipients[0]) }
        #expect(toPartners.count == partners.count)
        #expect(toPartners.allSatisfy { $0.parts[0].text?.contains("Dank voor de samenwerking") == true })
        #expect(greetings.filter { schools.keys.contains($0.recipients[0]) }.allSatisfy { $0.parts[0].text?.contains("aan het lezen") == true })

        // One click on the newsletter's List-Unsubscribe withdraws that contact's consent, with the mail as evidence.
        let (send, contact, email) = try await cast.env.db.withTenant(tenant) { tx in
            let rows = try await tx.query(
                "SELECT id, contact_id, email FROM sends WHERE campaign_id = \(newsletter) AND status = 'sent' ORDER BY email LIMIT 1"
            )
            .decode((UUID, UUID, String).self)
            var found: (UUID, UUID, String)?
            for try await row in rows { found = row }
            return try #require(found)
        }
        let url = path(TestEnvironment.links.unsubscribe(tenant: tenant.slug.value, sendID: send, now: cast.clock.now))
        try await cast.env.application(cast.services).test(.router) { client in
            let page = try await client.send(.get, url)
            #expect(page.status == .ok)
            #expect(page.text.contains("Onderwijsnieuwsbrief"))
            #expect(try await client.postForm(url, [("List-Unsubscribe", "One-Click")]).status == .ok)
            #expect(try await client.postForm(url, [("List-Unsubscribe", "One-Click")]).status == .ok)
        }
        let history = try await cast.env.db.withTenant(tenant) { tx in try await ContactConsents.history(contactID: contact, in: tx) }
        let withdrawals = history.filter { $0.topic == "list:onderwijs" && $0.status == .withdrawn }
        #expect(withdrawals.count == 1)
        #expect(withdrawals.first?.evidence["send_id"] == send.uuidString.lowercased())
        #expect(withdrawals.first?.source == .webForm)
        #expect(try await cast.tenantAuditCount("campaign.unsubscribed", tenant: tenant) == 1)
        #expect(try await cast.env.db.withTenant(tenant) { tx in try await Campaigns.stats(id: newsletter, in: tx) }.unsubscribed == 1)

        // The next newsletter to the list leaves them out; the relations list they stay on.
        let next = try await cast.env.db.withTenant(tenant) { tx in
            let original = try await Campaigns.find(id: newsletter, in: tx)
            return try await Campaigns.create(
                CampaignDraft(
                    name: "Onderwijsnieuwsbrief maart", listID: original.listID, segmentID: original.segmentID,
                    templateID: original.templateID), by: .system, now: cast.clock.now, in: tx)
        }
        #expect(next.audience == .b2b)
        #expect(try await schedule(next.id).recipients == schools.count - 1)
        let nextRecipients = try await cast.env.db.withTenant(tenant) { tx in
            try await tx.query("SELECT email FROM sends WHERE campaign_id = \(next.id)").decode(String.self).reduce(into: [String]()) {
                $0.append($1)
            }
        }
        #expect(!nextRecipients.contains(email))
        #expect(!nextRecipients.contains(bounced))
        // The contact whose role ended got no mail of any of the campaigns.
        #expect(
            try await cast.env.db.withTenant(tenant) { tx in
                try await tx.query("SELECT count(*)::int FROM sends WHERE contact_id = \(leaver)").decode(Int.self).reduce(0, +)
            } == 0)

        // Deleting a contact (an erasure request) takes their mails and what happened to them along.
        try await cast.env.db.withTenant(tenant) { tx in try await Contacts.delete(id: contact, by: .system, now: cast.clock.now, in: tx) }
        let left = try await cast.env.db.withTenant(tenant) { tx in
            try await tx.query(
                """
                SELECT (SELECT count(*) FROM sends WHERE contact_id = \(contact)) + (SELECT count(*) FROM campaign_events WHERE contact_id = \(contact))
                """
            ).decode(Int.self).reduce(0, +)
        }
        #expect(left == 0)
    }

    @Test func segmentsAndCampaignsOverHTTPKeepSubjectsApartAndStayInTheirLibrary() async throws {
        let cast = try await TwoTenants.make(suite: "B2BRoutes")
        let marketingA = try await cast.env.createUser(in: cast.a, role: .marketing)
        let analystA = try await cast.env.createUser(in: cast.a, role: .analyst)
        let marketingB = try await cast.env.createUser(in: cast.b, role: .marketing)
        let fixturesA = try await cast.env.createRelationFixtures(in: cast.a, name: "Zonnebloem")
        let fixturesB = try await cast.env.createRelationFixtures(in: cast.b, name: "Verborgen")
        // Another contact of A, a user (no decision maker) at another school.
        let otherA = try await cast.env.createRelationFixtures(in: cast.a, name: "Anderschool")
        try await cast.env.db.withTenant(cast.a) { tx in try await tx.query("UPDATE contact_roles SET dmu_role = 'user' WHERE id = \(otherA.role)") }
        let list = try await cast.env.createList(in: cast.a, key: "relaties", name: "Relatienieuws")
        let template = try await cast.env.db.withTenant(cast.a) { tx in
            try await Templates.create(
                TemplateDraft(
                    name: "Nieuwjaar", subject: "Gelukkig nieuwjaar, {{contact.full_name}}",
                    html: "<p>Namens {{library.name}} aan {{organisation.name}} ({{organisation.type}})</p>", text: "{{contact.dmu_role}}"),
                by: .system, now: cast.clock.now, in: tx
            ).id
        }
        let app = cast.env.application(cast.services)
        try await app.test(.router) { client in
            let tokenA = try await client.login(email: marketingA.email, tenant: cast.a.slug.value).access
            let preview = try await client.send(.post, "/api/v1/segments/preview", token: tokenA, json: Self.decisionMakers)
            #expect(preview.status == .ok, "\(preview.text)")
            #expect(preview["count"] as? Int == 1)
            #expect((preview["sample"] as? [[String: Any]])?.first?["name"] as? String == "Contact Zonnebloem")
            #expect(!preview.text.contains("Verborgen"))
            // An analyst counts contacts without seeing whom.
            let analyst = try await client.login(email: analystA.email, tenant: cast.a.slug.value).access
            let counted = try await client.send(.post, "/api/v1/segments/preview", token: analyst, json: Self.decisionMakers)
            #expect(counted["count"] as? Int == 1)
            #expect(counted["sample"] == nil)
            // A customer field in a B2B rule, and an unknown subject.
            let wrongField = try await client.send(
                .post, "/api/v1/segments/preview", token: tokenA,
                json: ["subject": "b2b", "rule": ["field": "age", "op": ">=", "value": 18]])
            #expect(wrongField.status == .unprocessableContent)
            #expect(wrongField.text.contains("rule.field"))
            let badSubject = try await client.send(
                .post, "/api/v1/segments/preview", token: tokenA, json: ["subject": "b2x", "rule": Self.decisionMakers["rule"] as Any])
            #expect(badSubject.status == .unprocessableContent)

            // Saved, a B2B segment stays B2B.
            let saved = try await client.send(
                .post, "/api/v1/segments", token: tokenA, json: Self.decisionMakers.merging(["name": "Directies"]) { $1 })
            #expect(saved.status == .created, "\(saved.text)")
            #expect(saved["subject"] as? String == "b2b")
            let segmentID = try #require(saved["id"] as? String)
            let changed = try await client.send(
                .put, "/api/v1/segments/\(segmentID)", token: tokenA,
                json: ["name": "Directies", "subject": "b2c", "version": 1, "rule": ["field": "age", "op": ">=", "value": 18]])
            #expect(changed.status == .unprocessableContent)
            #expect(try await client.send(.get, "/api/v1/segments/\(segmentID)/count", token: tokenA)["count"] as? Int == 1)

            // A campaign takes its audience from the segment; a mismatch or a B2B journey is refused.
            let campaign = try await client.send(
                .post, "/api/v1/campaigns", token: tokenA, json: ["name": "Directies", "purpose": "service", "segment_id": segmentID])
            #expect(campaign.status == .created, "\(campaign.text)")
            #expect(campaign["audience"] as? String == "b2b")
            let mismatch = try await client.send(
                .post, "/api/v1/campaigns", token: tokenA,
                json: ["name": "Directies", "audience": "b2c", "segment_id": segmentID])
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.text.contains("segment_id"))
            let journey = try await client.send(
                .post, "/api/v1/campaigns", token: tokenA,
                json: [
                    "name": "Welkom", "kind": "journey", "purpose": "service", "audience": "b2b",
                    "journey": ["trigger": "welcome", "steps": [["wait_days": 0, "template_id": UUID().uuidString]]],
                ])
            #expect(journey.status == .unprocessableContent)
            #expect(journey.text.contains("Journeys follow customers"), "\(journey.text)")

            // A template previewed for a contact renders their role at their organisation; B's contact is not found here.
            let previewed = try await client.send(
                .post, "/api/v1/templates/\(template)/preview", token: tokenA,
                json: ["contact_id": fixturesA.contact.uuidString])
            #expect(previewed.status == .ok, "\(previewed.text)")
            #expect(previewed["subject"] as? String == "Gelukkig nieuwjaar, Contact Zonnebloem")
            #expect((previewed["html"] as? String)?.contains("Zonnebloem ") == true)
            #expect((previewed["html"] as? String)?.contains("(Basisschool)") == true)
            #expect((previewed["text"] as? String)?.hasPrefix("decision_maker") == true)
            #expect((previewed["contact_id"] as? String)?.lowercased() == fixturesA.contact.uuidString.lowercased())
            let foreignContact = try await client.send(
                .post, "/api/v1/templates/\(template)/preview", token: tokenA,
                json: ["contact_id": fixturesB.contact.uuidString])
            #expect(foreignContact.status == .notFound)
            #expect(!foreignContact.text.contains("Verborgen"))
            // A role of another contact in the context is not shown as this contact's.
            let borrowed = try await client.send(
                .post, "/api/v1/templates/\(template)/preview", token: tokenA,
                json: ["contact_id": fixturesA.contact.uuidString, "context": ["contact_role_id": otherA.role.uuidString]])
            #expect(borrowed.status == .ok)
            #expect((borrowed["html"] as? String)?.contains("Anderschool") == false)
            let both = try await client.send(
                .post, "/api/v1/templates/\(template)/preview", token: tokenA,
                json: ["contact_id": fixturesA.contact.uuidString, "customer_id": UUID().uuidString])
            #expect(both.status == .unprocessableContent)

            // A list campaign to contacts stays one when a change names no audience.
            let listCampaign = try await client.send(
                .post, "/api/v1/campaigns", token: tokenA,
                json: ["name": "Relatienieuws", "audience": "b2b", "list_id": list.id.uuidString])
            #expect(listCampaign["audience"] as? String == "b2b", "\(listCampaign.text)")
            let listCampaignID = try #require(listCampaign["id"] as? String)
            let renamed = try await client.send(
                .put, "/api/v1/campaigns/\(listCampaignID)", token: tokenA,
                json: ["name": "Relatienieuws winter", "list_id": list.id.uuidString])
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(renamed["audience"] as? String == "b2b")

            // Library B cannot use A's segment, nor count or read it.
            let tokenB = try await client.login(email: marketingB.email, tenant: cast.b.slug.value).access
            let foreign = try await client.send(.post, "/api/v1/campaigns", token: tokenB, json: ["name": "Directies", "segment_id": segmentID])
            #expect(foreign.status == .unprocessableContent)
            #expect(try await client.send(.get, "/api/v1/segments/\(segmentID)/count", token: tokenB).status == .notFound)
            let previewB = try await client.send(.post, "/api/v1/segments/preview", token: tokenB, json: Self.decisionMakers)
            #expect(previewB["count"] as? Int == 1)
            #expect(!previewB.text.contains("Zonnebloem"))
        }
        #expect(try await cast.tenantAuditCount("segment.previewed", tenant: cast.a) == 1)
        let shown = try await cast.env.db.withTenant(cast.a) { tx in
            try await tx.query("SELECT details ->> 'shown_contacts' FROM audit_log WHERE action = 'segment.previewed'").decode(String?.self).reduce(
                nil as String?
            ) { $1 }
        }
        #expect(shown == fixturesA.contact.uuidString.lowercased())
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.a) == 2)
        #expect(try await cast.tenantAuditCount("access.unknown_resource", tenant: cast.a) == 1)
        #expect(try await cast.tenantAuditCount("template.previewed", tenant: cast.b) == 0)
    }

    /// A contact's unsubscribe link names library A; under library B's address it does nothing in either.
    @Test func aContactsUnsubscribeLinkNeverActsInAnotherLibrary() async throws {
        let cast = try await TwoTenants.make(suite: "B2BLinks")
        let fixtures = try await cast.env.createRelationFixtures(in: cast.a, name: "Kompas")
        let list = try await cast.env.createList(in: cast.a, key: "onderwijs", name: "Onderwijsnieuwsbrief")
        let now = cast.clock.now
        let send = try await cast.env.db.withTenant(cast.a) { tx in
            _ = try await ContactConsents.record(
                ContactConsentDraft(topic: list.topic, status: "opted_in"), contactID: fixtures.contact, by: .system, now: now, in: tx)
            let segment = try await Segments.create(
                SegmentDraft(
                    name: "Scholen", subject: "b2b",
                    rule: .condition(
                        SegmentCondition(
                            field: "organisation_type", op: "=", value: "primary_school"))), by: .system, now: now, in: tx)
            let template = try await Templates.create(
                TemplateDraft(name: "Nieuws", subject: "Nieuws", html: "<p>{{contact.first_name}}</p>", text: "Nieuws"),
                by: .system, now: now, in: tx)
            try await tx.query("INSERT INTO settings (key, value, updated_at) VALUES ('mail_from_address', '\"nieuws@a.example\"', \(now))")
            let campaign = try await Campaigns.create(
                CampaignDraft(name: "Nieuws", listID: list.id, segmentID: segment.id, templateID: template.id),
                by: .system, now: now, in: tx)
            #expect(try await Campaigns.schedule(id: campaign.id, at: nil, by: .system, now: now, in: tx).recipients == 1)
            return try await tx.query("SELECT id FROM sends WHERE campaign_id = \(campaign.id)").decode(UUID.self).reduce(nil as UUID?) { $1 }
        }
        let sendID = try #require(send)
        let token = String(TestEnvironment.links.unsubscribe(tenant: cast.a.slug.value, sendID: sendID, now: now).split(separator: "/").last ?? "")
        try await cast.env.application(cast.services).test(.router) { client in
            let foreign = try await client.postForm("/s/\(cast.b.slug.value)/u/\(token)", [("List-Unsubscribe", "One-Click")])
            #expect(foreign.status.code >= 400)
        }
        let latest = try await cast.env.db.withTenant(cast.a) { tx in try await ContactConsents.current(contactID: fixtures.contact, in: tx) }
        #expect(latest.map(\.status) == [.optedIn])
        #expect(try await cast.env.events(of: sendID, in: cast.a).isEmpty)
        #expect(try await cast.env.sendStatus(sendID, in: cast.a) == "pending")
    }
}
