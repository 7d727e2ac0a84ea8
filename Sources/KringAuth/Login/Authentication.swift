import Foundation
import KringCore
import KringDatabase
import PostgresNIO

/// Logs staff in, rotates their sessions and turns a bearer credential into a `Principal`.
///
/// Every check reads current state (membership, user, tenant status, session), so suspending a tenant,
/// removing a membership or logging out takes effect on the next request, not when a token expires.
public struct Authentication: Sendable {
    public let db: Database
    public let keys: TokenKeys
    public let hasher: PasswordHasher
    public let throttle: LoginThrottle
    /// The `<env>` part of API keys this deployment accepts (`live`, `test`, `dev`).
    public let environment: String
    public let now: @Sendable () -> Date
    /// Waits before an attempt from an address that has failed often; tests record the wait instead of sleeping.
    public let pause: @Sendable (TimeInterval) async -> Void

    public init(
        db: Database, keys: TokenKeys, hasher: PasswordHasher, throttle: LoginThrottle = LoginThrottle(),
        environment: String, now: @escaping @Sendable () -> Date,
        pause: @escaping @Sendable (TimeInterval) async -> Void = { try? await Task.sleep(for: .seconds($0)) }
    ) {
        self.db = db
        self.keys = keys
        self.hasher = hasher
        self.throttle = throttle
        self.environment = environment
        self.now = now
        self.pause = pause
    }

    public struct TokenPair: Sendable, Codable, Equatable {
        public let accessToken: String
        public let refreshToken: String
        public let tokenType: String
        public let expiresIn: Int

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case refreshToken = "refresh_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
        }
    }

    static let invalidCredentials = Problem.unauthorized("The e-mail address, password or library is not right.")

    // MARK: Login

    /// A password that was right: who signed in, where, and what the second factor still asks.
    public struct VerifiedLogin: Sendable {
        public let userID: UUID
        public let tenant: Tenant?
        public let role: Role
        /// The user has an authenticator app set up: a code is needed before the session starts.
        public let twoFactorEnabled: Bool
        public let policy: SessionPolicy
        let accountKey: String
        let rehash: String?

        /// Two-factor is required here (the library's setting, or always for Probiblio) but not set up yet.
        public var mustEnrol: Bool { !twoFactorEnabled && policy.twoFactorRequired }
    }

    /// Logs in to one library (`tenant` given) or to the platform (a platform administrator, no tenant), for the API:
    /// where two-factor is set up, `code` (from the app, or a recovery code) is needed too.
    /// Every failure answers the same 401, whether the e-mail exists or not; failures are throttled and audited.
    public func login(
        email rawEmail: String, password: String, tenant rawTenant: String?, code: String? = nil, address: String?
    ) async throws -> TokenPair {
        let verified = try await verifyPassword(email: rawEmail, password: password, tenant: rawTenant, address: address)
        if verified.mustEnrol {
            throw Problem.forbidden("Two-factor sign-in is required for this account. Set it up by signing in to the web app first.")
        }
        if verified.twoFactorEnabled {
            guard let code, !code.isEmpty else {
                throw Problem(
                    status: 401, type: "https://kring.nl/problems/two-factor-required", title: "Two-factor code required",
                    detail: "This account uses two-factor sign-in: send the code from the authenticator app (or a recovery code) as totp_code.",
                    errors: [FieldError(field: "totp_code", message: "Required for this account.")])
            }
            guard try await checkSecondFactor(verified, code: code, address: address) else {
                throw Problem.unauthorized("The two-factor code is not right.")
            }
        }
        let session = try await startSession(verified, address: address)
        return try await tokens(userID: verified.userID, tenantID: verified.tenant?.id, role: verified.role, session: session, now: now())
    }

    /// Checks e-mail, password and library (throttled and audited as a login), without starting a session yet.
    public func verifyPassword(email rawEmail: String, password: String, tenant rawTenant: String?, address: String?) async throws -> VerifiedLogin {
        let time = now()
        let email = EmailAddress(rawEmail)
        // The canonical address where there is one, so every spelling of an address (case, NFC) counts as one account.
        let accountKey = LoginThrottle.accountKey(email?.value ?? rawEmail.trimmingCharacters(in: .whitespacesAndNewlines))
        let addressKey = address.map(LoginThrottle.addressKey)
        let slug = rawTenant.flatMap(TenantSlug.init)

        struct Candidate: Sendable {
            var userID: UUID?
            var passwordHash: String?
            var userDisabled = false
            var twoFactorEnabled = false
            var tenant: Tenant?
            var role: Role?
            var membershipDisabled = false
            var isPlatformAdmin = false
        }
        let lookup: (decision: LoginThrottle.Decision, candidate: Candidate) = try await db.withPlatform { tx in
            let decision = try await throttle.reserveAttempt(account: accountKey, address: addressKey, now: time, in: tx)
            if decision.refusedFor != nil { return (decision, Candidate()) }
            var candidate = Candidate()
            // Looked up whether or not the account exists, so both paths run the same queries.
            if let slug { candidate.tenant = try await TenantDirectory.find(slug: slug, in: tx) }
            guard let email else { return (decision, candidate) }
            let rows = try await tx.query(
                "SELECT id, password_hash, disabled_at, totp_enabled_at IS NOT NULL FROM users WHERE email = \(email.value)")
            for try await (id, hash, disabledAt, twoFactor) in rows.decode((UUID, String?, Date?, Bool).self) {
                candidate.userID = id
                candidate.passwordHash = hash
                candidate.userDisabled = disabledAt != nil
                candidate.twoFactorEnabled = twoFactor
            }
            guard let userID = candidate.userID else { return (decision, candidate) }
            if slug != nil {
                if let tenant = candidate.tenant {
                    let rows = try await tx.query("SELECT role, disabled_at FROM memberships WHERE user_id = \(userID) AND tenant_id = \(tenant.id)")
                    for try await (role, disabledAt) in rows.decode((String, Date?).self) {
                        candidate.role = try UnreadableColumn.enumValue(Role.self, role, column: "role")
                        candidate.membershipDisabled = disabledAt != nil
                    }
                }
            } else if rawTenant == nil {
                let rows = try await tx.query("SELECT 1 FROM platform_admins WHERE user_id = \(userID)")
                for try await _ in rows { candidate.isPlatformAdmin = true }
            }
            return (decision, candidate)
        }
        if let seconds = lookup.decision.refusedFor {
            try await db.withPlatform { tx in
                try await throttle.recordFailure(address: addressKey, now: time, in: tx)
                try await PlatformAudit.record(AuditEvent(action: "login.throttled", ip: address), at: time, in: tx)
            }
            throw Problem.tooManyRequests(retryAfter: seconds)
        }
        if lookup.decision.delay > 0 { await pause(lookup.decision.delay) }
        let candidate = lookup.candidate
        // Always hash, so a missing account costs as much time as a wrong password.
        let passwordOK = await hasher.verify(password, against: candidate.passwordHash)

        let failure: String? =
            if candidate.userID == nil { "unknown_account" } else if !passwordOK { "wrong_password" } else if candidate.userDisabled {
                "user_disabled"
            } else if rawTenant != nil && candidate.tenant == nil { "unknown_tenant" } else if let tenant = candidate.tenant, tenant.status != .active
            { "tenant_suspended" } else if candidate.tenant != nil && (candidate.role == nil || candidate.membershipDisabled) {
                "no_membership"
            } else if rawTenant == nil && !candidate.isPlatformAdmin { "not_platform_admin" } else { nil }

        if let failure {
            try await db.withPlatform { tx in
                try await throttle.recordFailure(address: addressKey, now: time, in: tx)
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "login.failed", tenantID: candidate.tenant?.id, actorUserID: candidate.userID, ip: address,
                        details: ["reason": failure]), at: time, in: tx)
            }
            throw Self.invalidCredentials
        }
        guard let userID = candidate.userID else { throw Self.invalidCredentials }
        let rehash: String? = if let stored = candidate.passwordHash, hasher.needsRehash(stored) { try await hasher.hash(password) } else { nil }
        let policy: SessionPolicy = if let tenant = candidate.tenant { try await SessionPolicy.load(tenant: tenant, db: db) } else { .platform }
        let role: Role = candidate.tenant == nil ? .platformAdmin : (candidate.role ?? .analyst)
        return VerifiedLogin(
            userID: userID, tenant: candidate.tenant, role: role, twoFactorEnabled: candidate.twoFactorEnabled,
            policy: policy, accountKey: accountKey, rehash: rehash)
    }

    /// Checks the second factor of a verified login and spends the code. Wrong codes count as failed logins
    /// (the account locks as it does for passwords) and are audited.
    public func checkSecondFactor(_ verified: VerifiedLogin, code: String, address: String?) async throws -> Bool {
        let time = now()
        let addressKey = address.map(LoginThrottle.addressKey)
        let outcome: (refusedFor: Int?, ok: Bool) = try await db.withPlatform { tx in
            let decision = try await throttle.reserveAttempt(account: verified.accountKey, address: addressKey, now: time, in: tx)
            if let seconds = decision.refusedFor { return (seconds, false) }
            return (nil, try await TwoFactor.redeem(code: code, userID: verified.userID, now: time, in: tx))
        }
        if let seconds = outcome.refusedFor { throw Problem.tooManyRequests(retryAfter: seconds) }
        if !outcome.ok {
            try await db.withPlatform { tx in
                try await throttle.recordFailure(address: addressKey, now: time, in: tx)
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "login.failed", tenantID: verified.tenant?.id, actorUserID: verified.userID, ip: address,
                        details: ["reason": "wrong_second_factor"]), at: time, in: tx)
            }
        }
        return outcome.ok
    }

    /// Starts the session of a login whose every factor was checked: clears the account's failures and audits it.
    public func startSession(_ verified: VerifiedLogin, address: String?, in existing: PlatformTransaction? = nil) async throws -> Sessions.Issued {
        let time = now()
        let start: (PlatformTransaction) async throws -> Sessions.Issued = { tx in
            try await throttle.recordSuccess(account: verified.accountKey, in: tx)
            if let rehash = verified.rehash { try await StaffAccounts.setPassword(userID: verified.userID, hash: rehash, now: time, in: tx) }
            let session = try await Sessions.start(userID: verified.userID, tenantID: verified.tenant?.id, now: time, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "login.succeeded", tenantID: verified.tenant?.id, actorUserID: verified.userID, ip: address,
                    details: ["session": session.sessionID.uuidString.lowercased()]), at: time, in: tx)
            return session
        }
        if let existing { return try await start(existing) }
        return try await db.withPlatform { tx in try await start(tx) }
    }

    private func tokens(userID: UUID, tenantID: UUID?, role: Role, session: Sessions.Issued, now: Date) async throws -> TokenPair {
        let claims = AccessClaims(
            issuer: keys.issuer, audience: tenantID == nil ? AccessClaims.Audience.platform : AccessClaims.Audience.staff,
            userID: userID, tenantID: tenantID, role: role, sessionID: session.sessionID,
            issuedAt: now, expiresAt: now.addingTimeInterval(keys.lifetime))
        return TokenPair(
            accessToken: try await keys.sign(claims), refreshToken: session.refreshToken,
            tokenType: "Bearer", expiresIn: Int(keys.lifetime))
    }

    // MARK: Refresh and logout

    /// Rotates a refresh token. A token presented twice revokes its whole session and is audited.
    public func refresh(_ refreshToken: String, address: String?) async throws -> TokenPair {
        let time = now()
        let outcome = try await db.withPlatform { tx -> (Sessions.RotationOutcome, Role?) in
            let outcome = try await Sessions.rotate(refreshToken: refreshToken, now: time, in: tx)
            guard case .rotated(_, let userID, let tenantID) = outcome else { return (outcome, nil) }
            // The account must still be allowed in: same rules as a request with an access token.
            let role = try await currentRole(userID: userID, tenantID: tenantID, in: tx)
            return (outcome, role)
        }
        switch outcome {
        case (.reused(let sessionID, let userID, let tenantID), _):
            await PlatformAudit.record(
                AuditEvent(
                    action: "refresh.reused", tenantID: tenantID, actorUserID: userID, targetType: "session",
                    targetID: sessionID.uuidString.lowercased(), ip: address), at: time, using: db)
            throw Problem.unauthorized("This refresh token was used before; the session has been ended. Log in again.")
        case (.rotated(let session, let userID, let tenantID), let role?):
            return try await tokens(userID: userID, tenantID: tenantID, role: role, session: session, now: time)
        default:
            throw Problem.unauthorized("The refresh token is invalid or expired.")
        }
    }

    public func logout(sessionID: UUID, userID: UUID, tenantID: UUID?, address: String?) async throws {
        let time = now()
        try await db.withPlatform { tx in
            try await Sessions.revoke(sessionID: sessionID, reason: "logout", now: time, in: tx)
            try await PlatformAudit.record(
                AuditEvent(
                    action: "logout", tenantID: tenantID, actorUserID: userID, targetType: "session",
                    targetID: sessionID.uuidString.lowercased(), ip: address), at: time, in: tx)
        }
    }

    /// The role a user holds now in a tenant (or as platform admin when `tenantID` is nil), or nil when they may not log in.
    func currentRole(userID: UUID, tenantID: UUID?, in tx: PlatformTransaction) async throws -> Role? {
        if let tenantID {
            let rows = try await tx.query(
                """
                SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id
                WHERE m.user_id = \(userID) AND m.tenant_id = \(tenantID)
                  AND m.disabled_at IS NULL AND u.disabled_at IS NULL AND t.status = 'active'
                """)
            for try await role in rows.decode(String.self) { return try UnreadableColumn.enumValue(Role.self, role, column: "role") }
            return nil
        }
        let rows = try await tx.query(
            """
            SELECT 1 FROM platform_admins a JOIN users u ON u.id = a.user_id WHERE a.user_id = \(userID) AND u.disabled_at IS NULL
            """)
        for try await _ in rows { return .platformAdmin }
        return nil
    }

    // MARK: Requests

    /// Resolves `Authorization: Bearer ...` to a principal, or throws 401.
    public func authenticate(bearer: String, address: String?) async throws -> Principal {
        let time = now()
        if bearer.hasPrefix("kr_") { return try await authenticateAPIKey(bearer, address: address, now: time) }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(bearer, audience: AccessClaims.Audience.staff, now: time)
        } catch .wrongAudience {
            do {
                claims = try await keys.verify(bearer, audience: AccessClaims.Audience.platform, now: time)
            } catch {
                throw Problem.unauthorized("The access token is not valid.")
            }
        } catch {
            throw Problem.unauthorized(error == .expired ? "The access token has expired." : "The access token is not valid.")
        }
        guard let userID = claims.userID, let sessionID = claims.sessionID else { throw Problem.unauthorized("The access token is not valid.") }
        let isPlatform = claims.aud.value == [AccessClaims.Audience.platform]
        if isPlatform != (claims.tid == nil) { throw Problem.unauthorized("The access token is not valid.") }

        // One statement, outside a transaction (a single read needs none).
        let statement = LiveSessionStatement(sessionID: sessionID, userID: userID, now: time, tenantID: claims.tenantID)
        let rows = try await db.withConnection { connection in try await connection.rows(statement, logger: db.queryLogger) }
        var principal: Principal?
        if let row = rows.first {
            let cells = row.makeRandomAccess()
            let platformAdmin = try cells[1].decode(Bool.self)
            let role: Role? =
                claims.tenantID == nil
                ? (platformAdmin ? .platformAdmin : nil)
                : try cells[0].decodeEnum(Role?.self)
            // The tenant's columns follow the role's two; all NULL for a session without a library.
            let tenant = try cells[2].decode(UUID?.self) == nil ? nil : try Tenant(cells, from: 2)
            if let role, (claims.tenantID == nil) == (tenant == nil) {
                principal = Principal(
                    credential: .staff(userID: userID, sessionID: sessionID), tenant: tenant,
                    role: role, permissions: PermissionMatrix.permissions(of: role))
            }
        }
        guard let principal else { throw Problem.unauthorized("The session has ended or access was withdrawn. Log in again.") }
        return principal
    }

    private func authenticateAPIKey(_ token: String, address: String?, now time: Date) async throws -> Principal {
        let (check, tenant) = try await db.withPlatform { tx -> (APIKeys.Check, Tenant?) in
            let check = try await APIKeys.check(token, environment: environment, now: time, in: tx)
            guard case .valid(let key, let first) = check else { return (check, nil) }
            if first {
                try await PlatformAudit.record(
                    AuditEvent(
                        action: "api_key.used", tenantID: key.tenantID, actorAPIKeyID: key.id, ip: address), at: time, in: tx)
            }
            return (check, try await TenantDirectory.find(id: key.tenantID, in: tx))
        }
        switch check {
        case .valid(let key, _):
            guard let tenant else { throw Problem.unauthorized("The API key is not valid.") }
            return Principal(
                credential: .apiKey(key), tenant: tenant, role: nil,
                permissions: PermissionMatrix.permissions(of: key.scopes))
        case .invalid(let keyID, let tenantID, let reason):
            await PlatformAudit.record(
                AuditEvent(
                    action: "api_key.rejected", tenantID: tenantID, actorAPIKeyID: keyID, ip: address,
                    details: ["reason": reason]), at: time, using: db)
            throw Problem.unauthorized("The API key is not valid.")
        }
    }
}
