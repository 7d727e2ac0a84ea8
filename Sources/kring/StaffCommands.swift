import ArgumentParser
import Foundation
import KringAuth
import KringCore
import KringDatabase

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage library staff.",
        subcommands: [Create.self, Disable.self, ResetPassword.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user to a tenant with a role.")
        @Option var tenant: String
        @Option var email: String
        @Option(help: "tenant_admin, marketing, relations, frontdesk or analyst") var role: String
        @Option var name = ""
        @OptionGroup var password: PasswordOptions
        @Flag(help: "Do nothing when the user is a member of the tenant already.") var ifMissing = false

        func run() async throws {
            guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
            guard let email = EmailAddress(email) else { throw ValidationError("email: not a valid e-mail address") }
            guard let role = Role(rawValue: role), Role.tenantRoles.contains(role) else {
                throw ValidationError("role: use one of \(Role.tenantRoles.map(\.rawValue).joined(separator: ", "))")
            }
            let password = try password.read()
            let hash = try await password.asyncMap { try await PasswordHasher().hash($0) }
            let now = Date()
            let line: String = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let tenant = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
                    let user = try await StaffAccounts.findOrCreate(email: email, displayName: name, now: now, in: tx)
                    do {
                        try await StaffAccounts.addMembership(userID: user.id, tenantID: tenant.id, role: role, now: now, in: tx)
                    } catch StaffError.alreadyMember where ifMissing {
                        return "\(email) is a member of \(slug) already"
                    }
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "user.invited", tenantID: tenant.id, targetType: "user",
                            targetID: user.id.uuidString.lowercased(), details: ["role": role.rawValue, "via": "cli"]), at: now, in: tx)
                    return try await AccountPassword.settle(userID: user.id, hash: hash, now: now, in: tx)
                        .line("\(email) is \(role.rawValue) in \(slug)")
                }
            }
            print(line)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user in one tenant (--tenant) or everywhere; ends their sessions.")
        @Option var email: String
        @Option var tenant: String?

        func run() async throws {
            guard let email = EmailAddress(email) else { throw ValidationError("email: not a valid e-mail address") }
            let now = Date()
            let orphaned: [String] = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let user = try await StaffAccounts.find(email: email, in: tx) else { throw StaffError.notFound }
                    let before = Set(try await StaffAccounts.tenantsWithoutAdministrator(in: tx))
                    if let tenant {
                        guard let slug = TenantSlug(tenant), let found = try await TenantDirectory.find(slug: slug, in: tx) else {
                            throw TenantError.notFound(tenant)
                        }
                        _ = try await StaffAccounts.updateMember(userID: user.id, tenantID: found.id, role: nil, disabled: true, now: now, in: tx)
                    } else {
                        try await StaffAccounts.setDisabled(userID: user.id, true, now: now, in: tx)
                    }
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "user.disabled", targetType: "user",
                            targetID: user.id.uuidString.lowercased(), details: ["via": "cli"]), at: now, in: tx)
                    return try await StaffAccounts.tenantsWithoutAdministrator(in: tx).filter { !before.contains($0) }
                }
            }
            print("disabled \(email)\(tenant.map { " in \($0)" } ?? " everywhere")")
            // An operator may disable the last administrator (a compromised account must go at once), but is told.
            for slug in orphaned {
                print("warning: \(slug) has no active tenant administrator now; add one with kring user create --role tenant_admin")
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set a new password (from --password-file or --password-stdin), or print a one-time set-up token without one. Ends the user's sessions."
        )
        @Option var email: String
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            guard let email = EmailAddress(email) else { throw ValidationError("email: not a valid e-mail address") }
            let password = try password.read()
            let hash = try await password.asyncMap { try await PasswordHasher().hash($0) }
            let now = Date()
            let line: String = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let user = try await StaffAccounts.find(email: email, in: tx) else { throw StaffError.notFound }
                    try await Sessions.revokeAll(userID: user.id, tenantID: nil, reason: "password_reset", now: now, in: tx)
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "user.password_reset", targetType: "user",
                            targetID: user.id.uuidString.lowercased(), details: ["via": "cli"]), at: now, in: tx)
                    if let hash {
                        try await StaffAccounts.setPassword(userID: user.id, hash: hash, now: now, in: tx)
                        return "password of \(email) changed"
                    }
                    // The old password may be known to someone else: it stops working now.
                    try await tx.query("UPDATE platform.users SET password_hash = NULL, updated_at = \(now) WHERE id = \(user.id)")
                    return "set-up token for \(email): \(try await SetupTokens.issue(userID: user.id, now: now, in: tx))"
                }
            }
            print(line)
        }
    }
}

struct PlatformAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform-admin", abstract: "Manage Probiblio platform administrators.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a user a platform administrator (creating the account if needed).")
        @Option var email: String
        @Option var name = ""
        @OptionGroup var password: PasswordOptions
        @Option(
            help: ArgumentHelp(
                "Demo and test set-ups only: turn two-factor sign-in on with this shared secret (the authenticator app's key is its base32). Platform administrators always need two-factor; without this, they set it up at their first sign-in in the browser.",
                valueName: "secret"))
        var demoTwoFactorSecret: String?

        func run() async throws {
            guard let email = EmailAddress(email) else { throw ValidationError("email: not a valid e-mail address") }
            if let secret = demoTwoFactorSecret, secret.count < 16 || !secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                throw ValidationError("demo-two-factor-secret: use at least 16 letters and digits")
            }
            let password = try password.read()
            let hash = try await password.asyncMap { try await PasswordHasher().hash($0) }
            let now = Date()
            let line: String = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    let user = try await StaffAccounts.findOrCreate(email: email, displayName: name, now: now, in: tx)
                    try await StaffAccounts.makePlatformAdmin(userID: user.id, now: now, in: tx)
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "platform_admin.created", targetType: "user",
                            targetID: user.id.uuidString.lowercased(), details: ["via": "cli"]), at: now, in: tx)
                    if let secret = demoTwoFactorSecret, !(try await TwoFactor.status(userID: user.id, in: tx).enabled) {
                        _ = try await TwoFactor.enable(userID: user.id, secret: secret, confirmedStep: 0, now: now, in: tx)
                        try await PlatformAudit.record(
                            AuditEvent(
                                action: "two_factor.enabled", targetType: "user",
                                targetID: user.id.uuidString.lowercased(), details: ["via": "cli"]), at: now, in: tx)
                    }
                    return try await AccountPassword.settle(userID: user.id, hash: hash, now: now, in: tx)
                        .line("\(email) is a platform administrator")
                }
            }
            print(line)
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Manage a tenant's API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; the secret is printed once.")
        @Option var tenant: String
        @Option var name: String
        @Option(name: .customLong("scope"), help: "Repeat for several: \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))") var scopes:
            [String] = []
        @Option(help: "Days until the key expires.") var expiresInDays: Int?

        func run() async throws {
            guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
            let env = Environment()
            let environment = env.values["KRING_ENVIRONMENT"] ?? "dev"
            let now = Date()
            let created = try await env.withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let found = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
                    let created = try await APIKeys.create(
                        tenantID: found.id, name: name, scopes: scopes,
                        expiresAt: expiresInDays.map { now.addingTimeInterval(TimeInterval($0) * 86400) },
                        environment: environment, createdBy: nil, now: now, in: tx)
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "api_key.created", tenantID: found.id, targetType: "api_key",
                            targetID: created.key.id, details: ["via": "cli"]), at: now, in: tx)
                    return created
                }
            }
            print("id \(created.key.id)\n\(created.secret)\n(store it now: it is not shown again)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's keys (never their secrets).")
        @Option var tenant: String

        func run() async throws {
            guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
            let keys = try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let found = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
                    return try await APIKeys.list(tenantID: found.id, after: nil, limit: 1000, in: tx)
                }
            }
            for key in keys {
                let state = key.revokedAt != nil ? "revoked" : (key.expiresAt.map { $0 < Date() } == true ? "expired" : "active")
                print("\(key.id)\t\(state)\t\(key.scopes.map(\.rawValue).joined(separator: ","))\t\(key.name)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once.")
        @Option var tenant: String
        @Option var id: String

        func run() async throws {
            guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
            let now = Date()
            try await Environment().withOwner { owner in
                try await owner.withPlatform { tx in
                    guard let found = try await TenantDirectory.find(slug: slug, in: tx) else { throw TenantError.notFound(slug.value) }
                    _ = try await APIKeys.revoke(id: id, tenantID: found.id, now: now, in: tx)
                    try await PlatformAudit.record(
                        AuditEvent(
                            action: "api_key.revoked", tenantID: found.id, targetType: "api_key",
                            targetID: id, details: ["via": "cli"]), at: now, in: tx)
                }
            }
            print("revoked \(id)")
        }
    }
}

struct JWTKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jwt-key", abstract: "Manage token signing keys.", subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 key pair <kid>.key/<kid>.pub. The newest kid by name signs; older keys keep verifying until removed.")
        @Option var dir: String
        @Option(help: "Key id; default: today's date.") var kid: String?

        func run() async throws {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd'T'HHmmss"
            let kid = kid ?? formatter.string(from: Date())
            try TokenKeys.generate(kid: kid, into: URL(fileURLWithPath: dir))
            print("wrote \(dir)/\(kid).key and \(kid).pub")
        }
    }
}

/// What the operator is told about a new or existing account's password.
enum AccountPassword {
    case set
    case unchanged
    case setupToken(String)

    /// Sets the given password hash; without one, keeps an existing password or issues a set-up token.
    static func settle(userID: UUID, hash: String?, now: Date, in tx: PlatformTransaction) async throws -> AccountPassword {
        if let hash {
            try await StaffAccounts.setPassword(userID: userID, hash: hash, now: now, in: tx)
            return .set
        }
        if try await StaffAccounts.hasPassword(userID: userID, in: tx) { return .unchanged }
        return .setupToken(try await SetupTokens.issue(userID: userID, now: now, in: tx))
    }

    func line(_ subject: String) -> String {
        switch self {
        case .set, .unchanged: subject
        case .setupToken(let token): "\(subject); set-up token \(token) (POST /api/v1/auth/password)"
        }
    }
}
