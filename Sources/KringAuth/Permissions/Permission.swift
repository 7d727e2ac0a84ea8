import KringCore

/// What a request may do. Every route names one; `PermissionMatrix` decides it for roles and API key scopes.
public enum Permission: String, Sendable, CaseIterable, Codable {
    /// Read one's own identity (`GET /me`).
    case profileRead = "profile:read"
    /// Create, list, suspend and resume tenants; invite their first administrators (Probiblio).
    case tenantsManage = "tenants:manage"
    /// List a library's staff.
    case usersRead = "users:read"
    /// Invite staff, change their role, disable them.
    case usersManage = "users:manage"
    /// Create, list and revoke a library's API keys.
    case apiKeysManage = "api-keys:manage"
    /// Manage a library's branches (vestigingen).
    case branchesManage = "branches:manage"
    /// Read branches (every library role).
    case branchesRead = "branches:read"
    /// Search customers and read one customer's profile and timeline.
    case customersRead = "customers:read"
    /// Create and change customers, merge duplicates, link households, log contact moments.
    case customersWrite = "customers:write"
    /// Export one customer's personal data (AVG art. 15/20).
    case customersExport = "customers:export"
    /// Erase one customer's personal data (AVG art. 17).
    case customersErase = "customers:erase"
    /// Record consent statements (opt-in, confirmation, withdrawal).
    case consentsWrite = "consents:write"
    /// See activities and their registrations.
    case activitiesRead = "activities:read"
    /// Plan activities.
    case activitiesManage = "activities:manage"
    /// Register customers for activities, mark attendance, record evaluations.
    case registrationsWrite = "registrations:write"
    /// Read complaints.
    case complaintsRead = "complaints:read"
    /// Take in, assign and resolve complaints.
    case complaintsManage = "complaints:manage"
    /// Upload exports of the library system and follow their import.
    case importsWrite = "imports:write"
    /// Read and change the library's own settings (e.g. the complaint service level).
    case settingsManage = "settings:manage"
    /// Read business relations: organisations (account view), contacts and their DMU roles, interactions, tasks,
    /// orders and agreements. Reads of a contact's personal data are audited.
    case relationsRead = "relations:read"
    /// Create, change and delete business relations, add organisation types, import the colleagues' lists.
    case relationsWrite = "relations:write"
    /// Read saved segments and count them; preview an unsaved rule's count. Counts are aggregates; the preview's
    /// sample of named customers is shown only with `segments:write` (see `PermissionMatrix`).
    case segmentsRead = "segments:read"
    /// Save segments and see whom a rule selects (the preview's sample of 20 customers, audited).
    case segmentsWrite = "segments:write"
    /// Read subscription lists, mail templates, campaigns, journeys and their statistics (aggregates).
    case campaignsRead = "campaigns:read"
    /// Create and change lists, templates, campaigns and journeys; preview a mail for a chosen customer;
    /// schedule, send, pause and cancel.
    case campaignsWrite = "campaigns:write"
    /// Report bounces and complaints for the library's mail (a provider's webhook, through an API key).
    case emailEventsWrite = "email-events:write"
    /// The library's reports: Mosaic, KPIs (counts only, no personal data).
    case reportsRead = "reports:read"
}

/// The one table that says which role may do what. Tests walk it whole against the routes.
public enum PermissionMatrix {
    public static func permissions(of role: Role) -> Set<Permission> {
        switch role {
        // Probiblio runs the platform but has no business in a library's member data.
        case .platformAdmin: [.profileRead, .tenantsManage]
        // Administers the library (staff, keys, branches, member imports); no access to business relations, whose
        // contacts' personal data it has no need for (as it has none to customers).
        case .tenantAdmin: [.profileRead, .usersRead, .usersManage, .apiKeysManage, .branchesRead, .branchesManage, .importsWrite, .settingsManage]
        // The front desk serves members: it keeps their data, handles their privacy requests.
        case .frontdesk:
            [
                .profileRead, .branchesRead, .customersRead, .customersWrite, .customersExport, .customersErase, .consentsWrite,
                .activitiesRead, .registrationsWrite, .complaintsRead, .complaintsManage,
            ]
        // Marketing reads relations for B2B mailings (new-year greetings, education newsletters) but does not keep them.
        case .marketing:
            [
                .profileRead, .branchesRead, .customersRead, .consentsWrite, .activitiesRead, .activitiesManage, .registrationsWrite, .relationsRead,
                .segmentsRead, .segmentsWrite, .campaignsRead, .campaignsWrite, .reportsRead,
            ]
        // Reads without exporting personal data. Segments: counts only. A preview's sample is a list of named
        // customers drawn by a rule the analyst chose (e.g. "open complaint, over 70, in Zandvoort"): a selection of
        // personal data rather than a report, so it stays with marketing, who mails the segment.
        case .analyst:
            [
                .profileRead, .branchesRead, .customersRead, .activitiesRead, .complaintsRead, .relationsRead, .segmentsRead, .campaignsRead,
                .reportsRead,
            ]
        // Business relations only; no member data.
        case .relations: [.profileRead, .branchesRead, .relationsRead, .relationsWrite]
        }
    }

    public static func allows(_ role: Role, _ permission: Permission) -> Bool {
        permissions(of: role).contains(permission)
    }

    /// Integrations act only through their scopes; no scope reaches staff or key administration.
    public static func permissions(of scopes: [APIScope]) -> Set<Permission> {
        var permissions: Set<Permission> = [.profileRead]
        for scope in scopes {
            switch scope {
            case .customersRead: permissions.formUnion([.customersRead, .branchesRead])
            case .customersWrite: permissions.formUnion([.customersRead, .customersWrite, .consentsWrite, .branchesRead])
            case .registrationsWrite: permissions.formUnion([.activitiesRead, .registrationsWrite])
            case .importsWrite: permissions.insert(.importsWrite)
            case .emailEventsWrite: permissions.insert(.emailEventsWrite)
            }
        }
        return permissions
    }
}

/// What an API key may be used for. `PermissionMatrix.permissions(of:)` turns scopes into the permissions routes ask for.
public enum APIScope: String, Sendable, CaseIterable, Codable, Hashable {
    case customersRead = "customers:read"
    case customersWrite = "customers:write"
    case importsWrite = "imports:write"
    case registrationsWrite = "registrations:write"
    case emailEventsWrite = "email-events:write"
}
