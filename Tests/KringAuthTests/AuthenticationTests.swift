import Foundation
import KringAuth
import KringCore
import KringDatabase
import KringTestSupport
import Testing

@Suite struct AuthenticationTests {
    func setUp() async throws -> (TestEnvironment, Authentication, TestClock, Tenant, (id: UUID, email: String)) {
        let env = try await TestEnvironment.forSuite("Authentication")
        let clock = TestClock()
        let auth = env.authentication(clock: clock, keys: try await TestEnvironment.makeKeys().0)
        let tenant = try await env.createTenant("auth")
        let user = try await env.createUser(in: tenant, role: .frontdesk)
        return (env, auth, clock, tenant, user)
    }

    static func isUnauthorized(_ error: any Error) -> Bool { (error as? Problem)?.status == 401 }

    @Test func loginGivesTokensThatAuthenticate() async throws {
        let (_, auth, _, tenant, user) = try await setUp()
        let pair = try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: "192.0.2.1")
        #expect(pair.tokenType == "Bearer")
        #expect(pair.expiresIn == 900)
        let principal = try await auth.authenticate(bearer: pair.accessToken, address: nil)
        #expect(principal.tenant?.id == tenant.id)
        #expect(principal.role == .frontdesk)
        #expect(principal.userID == user.id)
    }

    @Test func removedMembershipRejectsAStillUnexpiredToken() async throws {
        let (env, auth, _, tenant, user) = try await setUp()
        let pair = try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        try await env.owner.withPlatform { tx in
            try await tx.query("DELETE FROM memberships WHERE user_id = \(user.id) AND tenant_id = \(tenant.id)")
        }
        await #expect { try await auth.authenticate(bearer: pair.accessToken, address: nil) } throws: { Self.isUnauthorized($0) }
    }

    @Test func expiredAccessTokenIsRejectedByTheInjectedClock() async throws {
        let (_, auth, clock, tenant, user) = try await setUp()
        let pair = try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        clock.advance(by: 901)
        await #expect { try await auth.authenticate(bearer: pair.accessToken, address: nil) } throws: {
            ($0 as? Problem)?.detail == "The access token has expired."
        }
    }

    @Test func refreshRotatesAndReuseRevokesTheWholeFamily() async throws {
        let (env, auth, _, tenant, user) = try await setUp()
        let first = try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        let second = try await auth.refresh(first.refreshToken, address: nil)
        #expect(second.refreshToken != first.refreshToken)
        _ = try await auth.authenticate(bearer: second.accessToken, address: nil)

        // The first refresh token again: a replay. The family dies, including the newest tokens.
        await #expect { try await auth.refresh(first.refreshToken, address: nil) } throws: { Self.isUnauthorized($0) }
        await #expect { try await auth.refresh(second.refreshToken, address: nil) } throws: { Self.isUnauthorized($0) }
        await #expect { try await auth.authenticate(bearer: second.accessToken, address: nil) } throws: { Self.isUnauthorized($0) }

        let audited = try await env.owner.withPlatform { tx in
            try await tx.query("SELECT count(*) FROM audit_log WHERE action = 'refresh.reused' AND actor_user_id = \(user.id)").decode(Int.self)
                .reduce(0, +)
        }
        #expect(audited == 1)
    }

    @Test func unknownEmailAndWrongPasswordAnswerTheSame() async throws {
        let (_, auth, _, tenant, user) = try await setUp()
        var problems: [Problem] = []
        for email in [user.email, "nobody-\(UUID())@example.org"] {
            do {
                _ = try await auth.login(email: email, password: "wrong password here", tenant: tenant.slug.value, address: nil)
            } catch let problem as Problem {
                problems.append(problem)
            }
        }
        #expect(problems.count == 2)
        #expect(problems[0] == problems[1])
        #expect(problems[0].status == 401)
    }

    @Test(arguments: [true, false])
    func repeatedFailuresAreThrottledWhetherOrNotTheAccountExists(accountExists: Bool) async throws {
        let (env, auth, clock, tenant, user) = try await setUp()
        let email = accountExists ? user.email : "ghost-\(UUID())@example.org"
        let throttle = LoginThrottle()
        for _ in 0..<throttle.accountFreeFailures {
            await #expect { try await auth.login(email: email, password: "wrong password here", tenant: tenant.slug.value, address: nil) } throws: {
                Self.isUnauthorized($0)
            }
        }
        // Over the limit: refused without a check, even with the right password.
        await #expect { try await auth.login(email: email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil) } throws: {
            ($0 as? Problem)?.status == 429 && ($0 as? Problem)?.retryAfter == 30
        }
        clock.advance(by: 31)
        if accountExists {
            _ = try await auth.login(email: email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        }
        let failures = try await env.owner.withPlatform { tx in
            try await tx.query("SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND tenant_id = \(tenant.id)").decode(Int.self).reduce(
                0, +)
        }
        #expect(failures == throttle.accountFreeFailures)
    }

    @Test func concurrentGuessesCannotAllPassOneThrottleCheck() async throws {
        let (_, auth, _, tenant, user) = try await setUp()
        let attempts = 12
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<attempts {
                group.addTask {
                    do {
                        _ = try await auth.login(email: user.email, password: "wrong password here", tenant: tenant.slug.value, address: nil)
                        return 200
                    } catch {
                        return (error as? Problem)?.status ?? 500
                    }
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 401 }.count == LoginThrottle().accountFreeFailures)
        #expect(statuses.filter { $0 == 429 }.count == attempts - LoginThrottle().accountFreeFailures)
    }

    @Test func suspendedTenantBlocksLoginsTokensAndKeys() async throws {
        let (env, auth, clock, tenant, user) = try await setUp()
        let pair = try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        let key = try await env.db.withPlatform { tx in
            try await APIKeys.create(
                tenantID: tenant.id, name: "ils", scopes: ["customers:read"], expiresAt: nil, environment: "test",
                createdBy: nil, now: clock.now, in: tx)
        }
        _ = try await auth.authenticate(bearer: key.secret, address: nil)
        _ = try await env.owner.withPlatform { tx in try await TenantDirectory.setStatus(.suspended, slug: tenant.slug, now: clock.now, in: tx) }

        await #expect {
            try await auth.login(email: user.email, password: TestEnvironment.password, tenant: tenant.slug.value, address: nil)
        } throws: { Self.isUnauthorized($0) }
        await #expect { try await auth.authenticate(bearer: pair.accessToken, address: nil) } throws: { Self.isUnauthorized($0) }
        await #expect { try await auth.refresh(pair.refreshToken, address: nil) } throws: { Self.isUnauthorized($0) }
        await #expect { try await auth.authenticate(bearer: key.secret, address: nil) } throws: { Self.isUnauthorized($0) }

        _ = try await env.owner.withPlatform { tx in try await TenantDirectory.setStatus(.active, slug: tenant.slug, now: clock.now, in: tx) }
        _ = try await auth.authenticate(bearer: pair.accessToken, address: nil)
        _ = try await auth.authenticate(bearer: key.secret, address: nil)
    }

    @Test func apiKeysActInTheirTenantAndFailClosed() async throws {
        let (env, auth, clock, tenant, _) = try await setUp()
        let created = try await env.db.withPlatform { tx in
            try await APIKeys.create(
                tenantID: tenant.id, name: "ticketing", scopes: ["registrations:write", "customers:read"],
                expiresAt: clock.now.addingTimeInterval(3600), environment: "test", createdBy: nil, now: clock.now, in: tx)
        }
        #expect(created.secret.hasPrefix("kr_test_\(created.key.id)_"))
        let principal = try await auth.authenticate(bearer: created.secret, address: nil)
        #expect(principal.tenant?.id == tenant.id)
        #expect(principal.apiKeyID == created.key.id)
        #expect(!principal.allows(.usersManage))

        let wrongSecret = String(created.secret.dropLast()) + (created.secret.hasSuffix("0") ? "1" : "0")
        await #expect { try await auth.authenticate(bearer: wrongSecret, address: nil) } throws: { Self.isUnauthorized($0) }
        let otherEnvironment = created.secret.replacingOccurrences(of: "kr_test_", with: "kr_live_")
        await #expect { try await auth.authenticate(bearer: otherEnvironment, address: nil) } throws: { Self.isUnauthorized($0) }

        clock.advance(by: 3601)
        await #expect { try await auth.authenticate(bearer: created.secret, address: nil) } throws: { Self.isUnauthorized($0) }
        clock.advance(by: -3601)
        _ = try await env.db.withPlatform { tx in try await APIKeys.revoke(id: created.key.id, tenantID: tenant.id, now: clock.now, in: tx) }
        await #expect { try await auth.authenticate(bearer: created.secret, address: nil) } throws: { Self.isUnauthorized($0) }
    }

    @Test func apiKeyValidation() async throws {
        let (env, _, clock, tenant, _) = try await setUp()
        await #expect {
            try await env.db.withPlatform { tx in
                try await APIKeys.create(
                    tenantID: tenant.id, name: " ", scopes: ["customers:read", "everything"], expiresAt: clock.now,
                    environment: "test", createdBy: nil, now: clock.now, in: tx)
            }
        } throws: { error in
            guard case .invalid(let errors) = error as? APIKeyError else { return false }
            return Set(errors.map(\.field)) == ["name", "scopes[1]", "expires_at"]
        }
        #expect(APIKeys.Presented("kr_test_0123456789abcdef_" + String(repeating: "a", count: 64)) != nil)
        #expect(APIKeys.Presented("kr_test_0123456789abcdef_" + String(repeating: "a", count: 63)) == nil)
        #expect(APIKeys.Presented("kr__0123456789abcdef_" + String(repeating: "a", count: 64)) == nil)
    }
}

@Suite struct LastAdministratorTests {
    @Test func tenantsLeftWithoutAnActiveAdministratorAreNamed() async throws {
        let env = try await TestEnvironment.forSuite("LastAdministrator")
        let kept = try await env.createTenant("kept")
        let orphan = try await env.createTenant("orphan")
        _ = try await env.createUser(in: kept, role: .tenantAdmin)
        let lone = try await env.createUser(in: orphan, role: .tenantAdmin)
        let before = try await env.db.withPlatform { tx in try await StaffAccounts.tenantsWithoutAdministrator(in: tx) }
        #expect(!before.contains(kept.slug.value))
        #expect(!before.contains(orphan.slug.value))
        try await env.owner.withPlatform { tx in try await StaffAccounts.setDisabled(userID: lone.id, true, now: Date(), in: tx) }
        let after = try await env.db.withPlatform { tx in try await StaffAccounts.tenantsWithoutAdministrator(in: tx) }
        #expect(after.contains(orphan.slug.value))
        #expect(!after.contains(kept.slug.value))
    }
}
