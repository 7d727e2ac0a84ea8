import Foundation
import KringAuth
import KringB2B
import KringCore
import KringDatabase
import KringTestSupport
import Testing

@Suite struct RelationsDemoTests {
    @Test func theDemoLibraryHasASchoolBoardAMunicipalityAndWorkForItsRelationsUser() async throws {
        let (env, tenant) = try await B2B.setUp("RelationsDemo")
        let relations = try await env.createUser(in: tenant, role: .relations)
        try await env.db.withTenant(tenant) { tx in
            let made = try await RelationsDemo(municipality: "Haarlem", accountOwner: relations.id).seed(by: B2B.staff, now: B2B.now, in: tx)
            #expect(made == 7)
            let board = try #require(try await Organisations.search(Organisations.Search(query: "Spaarnestroom"), in: tx).first)
            let view = try await Organisations.accountView(id: board.id, by: B2B.staff, now: B2B.now, in: tx)
            #expect(view.members.count == 3)
            for school in view.members {
                let schoolView = try await Organisations.accountView(id: school.id, by: B2B.staff, now: B2B.now, in: tx)
                #expect(schoolView.dmu.decisionMaker.count == 1)
                #expect(schoolView.dmu.advisor.count == 1)
                #expect(schoolView.dmu.gatekeeper.count == 1)
                #expect(schoolView.organisation.accountOwnerUserID == relations.id)
            }
            let overdue = try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: relations.id, due: .overdue), now: B2B.now, in: tx)
            #expect(overdue.map(\.title) == ["Cijfers taalhuis naar de wethouder"])
            let open = try await RelationTasks.list(RelationTasks.Filter(assigneeUserID: relations.id), now: B2B.now, in: tx)
            // The overdue one, the visit report's follow-up, the fund application and the agreement's renewal.
            #expect(open.count == 4)
        }
    }
}
