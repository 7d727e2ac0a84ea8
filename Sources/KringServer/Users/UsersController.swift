import Foundation
import Hummingbird
import KringAuth
import KringCore
import KringDatabase

/// A library administrator's staff routes. The library is always the credential's; another library's
/// user id answers 404 and the probe is audited.
struct UsersController {
    let services: AppServices

    struct InviteBody: Decodable {
        let email: String
        let displayName: String?
        let role: String
        enum CodingKeys: String, CodingKey {
            case email
            case displayName = "display_name"
            case role
        }
    }

    struct UpdateBody: Decodable {
        let role: String?
        let disabled: Bool?
    }

    struct MemberResponse: ResponseEncodable, Sendable {
        let id: UUID
        let email: String
        let displayName: String
        let role: String
        let disabled: Bool
        let createdAt: Date
        init(_ member: TenantMember) {
            id = member.user.id
            email = member.user.email
            displayName = member.user.displayName
            role = member.role.rawValue
            // The membership's own switch only: an account disabled by Probiblio must not tell another library it exists.
            disabled = member.disabled
            createdAt = member.user.createdAt
        }
    }

    func addRoutes(to group: RouterGroup<KringRequestContext>) {
        group.get { request, context in try await list(request, context) }
        group.post { request, context in try await invite(request, context) }
        group.patch(":id") { request, context in try await update(request, context) }
    }

    func list(_ request: Request, _ context: KringRequestContext) async throws -> PageResponse<MemberResponse> {
        let (_, tenant) = try context.requireTenant(.usersRead)
        let page = try Page(request)
        let after = try page.after.map { raw in
            guard let id = UUID(uuidString: raw) else { throw Problem.badRequest("after must be a user id.") }
            return id
        }
        let members = try await services.db.withPlatform { tx in
            try await StaffAccounts.members(tenantID: tenant.id, after: after, limit: page.limit, in: tx)
        }
        let items = members.map(MemberResponse.init)
        return PageResponse(items: items, nextAfter: items.count == page.limit ? items.last?.id.uuidString.lowercased() : nil)
    }

    private func administration(_ context: KringRequestContext) throws -> StaffAdministration {
        let (principal, tenant) = try context.requireTenant(.usersManage)
        return StaffAdministration(services: services, principal: principal, tenant: tenant, address: context.clientAddress)
    }

    func invite(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<AdminTenantsController.Invitation> {
        let administration = try administration(context)
        let body = try await request.decodeJSON(InviteBody.self, limit: services.settings.maxBodyBytes)
        // The invitee learns the way in by mail; the answer must not tell the inviter whether the account existed.
        let invited = try await administration.invite(email: body.email, displayName: body.displayName, role: body.role)
        return EditedResponse(
            status: .created,
            response: AdminTenantsController.Invitation(
                userID: invited.userID, email: invited.email, role: invited.role.rawValue, setupToken: nil))
    }

    func update(_ request: Request, _ context: KringRequestContext) async throws -> MemberResponse {
        let administration = try administration(context)
        guard let userID = UUID(uuidString: try context.parameters.require("id")) else { throw StaffError.notFound }
        let body = try await request.decodeJSON(UpdateBody.self, limit: services.settings.maxBodyBytes)
        return MemberResponse(try await administration.update(userID: userID, role: body.role, disabled: body.disabled))
    }
}
