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
        enum CodingKeys: String, CodingKey { case email, displayName = "display_name", role }
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

    func invite(_ request: Request, _ context: KringRequestContext) async throws -> EditedResponse<AdminTenantsController.Invitation> {
        let (principal, tenant) = try context.requireTenant(.usersManage)
        let body = try await request.decodeJSON(InviteBody.self, limit: services.settings.maxBodyBytes)
        var errors: [FieldError] = []
        let email = EmailAddress(body.email)
        if email == nil { errors.append(FieldError(field: "email", message: "Not a valid e-mail address.")) }
        let role = Role(rawValue: body.role).flatMap { Role.tenantRoles.contains($0) ? $0 : nil }
        if role == nil { errors.append(StaffError.notATenantRole(body.role).problem.errors?.first ?? FieldError(field: "role", message: "Unknown role.")) }
        guard errors.isEmpty, let email, let role else { throw Problem.validation(errors) }
        let now = services.now()
        let invitation = try await services.db.withPlatform { tx in
            // The invitee learns the way in by mail; the answer must not tell the inviter whether the account existed.
            let invitation = try await AdminTenantsController.invite(email: email, displayName: body.displayName ?? "", role: role,
                                                                     tenant: tenant, handingOverToken: false, now: now, in: tx)
            try await PlatformAudit.record(AuditEvent(action: "user.invited", tenantID: tenant.id, actorUserID: principal.userID,
                                                      targetType: "user", targetID: invitation.userID.uuidString.lowercased(),
                                                      ip: context.clientAddress, details: ["role": role.rawValue]), at: now, in: tx)
            return invitation
        }
        return EditedResponse(status: .created, response: invitation)
    }

    func update(_ request: Request, _ context: KringRequestContext) async throws -> MemberResponse {
        let (principal, tenant) = try context.requireTenant(.usersManage)
        guard let userID = UUID(uuidString: try context.parameters.require("id")) else { throw StaffError.notFound }
        let body = try await request.decodeJSON(UpdateBody.self, limit: services.settings.maxBodyBytes)
        let role: Role? = try body.role.map {
            guard let role = Role(rawValue: $0) else { throw StaffError.notATenantRole($0) }
            return role
        }
        let now = services.now()
        do {
            return try await services.db.withPlatform { tx in
                let member = try await StaffAccounts.updateMember(userID: userID, tenantID: tenant.id, role: role,
                                                                  disabled: body.disabled, now: now, in: tx)
                var details: [String: String] = ["role": member.role.rawValue]
                if let disabled = body.disabled { details["disabled"] = String(disabled) }
                try await PlatformAudit.record(AuditEvent(action: "membership.updated", tenantID: tenant.id, actorUserID: principal.userID,
                                                          targetType: "user", targetID: userID.uuidString.lowercased(),
                                                          ip: context.clientAddress, details: details), at: now, in: tx)
                return MemberResponse(member)
            }
        } catch StaffError.notFound {
            await auditForeignProbe(userID: userID, tenant: tenant, principal: principal, context: context, now: now)
            throw StaffError.notFound
        }
    }

    private func auditForeignProbe(userID: UUID, tenant: Tenant, principal: Principal, context: KringRequestContext, now: Date) async {
        let foreign = (try? await services.db.withPlatform { tx in
            try await StaffAccounts.isMemberElsewhere(userID: userID, tenantID: tenant.id, in: tx)
        }) ?? false
        guard foreign else { return }
        await PlatformAudit.record(AuditEvent(action: "access.foreign_resource", tenantID: tenant.id, actorUserID: principal.userID,
                                              actorAPIKeyID: principal.apiKeyID, targetType: "user",
                                              targetID: userID.uuidString.lowercased(), ip: context.clientAddress), at: now, using: services.db)
    }
}
