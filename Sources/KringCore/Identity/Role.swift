/// A staff role. One user holds one role per tenant; `platformAdmin` is held on the platform, never in a tenant.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable {
    case platformAdmin = "platform_admin"
    case tenantAdmin = "tenant_admin"
    case marketing
    case relations
    case frontdesk
    case analyst

    /// Roles that a membership in a tenant may carry.
    public static let tenantRoles: [Role] = [.tenantAdmin, .marketing, .relations, .frontdesk, .analyst]
}
