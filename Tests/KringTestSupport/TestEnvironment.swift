import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import KringAuth
import KringCampaigns
import KringCore
import KringDatabase
import KringServer
import KringWeb
import Logging
import Metrics
import Prometheus
import Synchronization

/// A clock that tests set and move; nothing sleeps.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_796_000_000)) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    public var closure: @Sendable () -> Date { { self.now } }
}

/// One suite's database with an application pool (`kring_app`) and an owner pool, plus helpers.
public struct TestEnvironment: Sendable {
    public let databaseName: String
    public let db: Database
    public let owner: Database

    public static let password = "correct horse battery staple"
    public static let hasher = PasswordHasher(parameters: .testing, threads: 2)
    /// Prometheus registry shared by the process (MetricsSystem can be bootstrapped once).
    public static let metrics: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    public static func forSuite(_ name: String) async throws -> TestEnvironment {
        try await TestDatabase.shared.environment(for: name)
    }

    public var migrations: MigrationSet { get throws { try MigrationSet.load() } }

    public var provisioner: TenantProvisioner {
        get throws { TenantProvisioner(migrator: Migrator(owner: owner, migrations: try migrations)) }
    }

    /// A tenant with a unique slug (roles are cluster-wide, so suites must not reuse names).
    public func createTenant(_ prefix: String = "lib", now: Date = Date()) async throws -> Tenant {
        let slug = TenantSlug("\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")!
        let provisioner = try provisioner
        return try await owner.withPlatform { tx in try await provisioner.create(slug: slug, name: "Bibliotheek \(prefix)", now: now, in: tx) }
    }

    /// A user with a password and a role in `tenant` (or a platform administrator when `tenant` is nil).
    @discardableResult
    public func createUser(in tenant: Tenant?, role: Role, email: String? = nil, now: Date = Date()) async throws -> (id: UUID, email: String) {
        let address = EmailAddress(email ?? "\(role.rawValue)-\(UUID().uuidString.prefix(8))@example.org")!
        let hash = try await Self.hasher.hash(Self.password)
        let user = try await owner.withPlatform { tx in
            let user = try await StaffAccounts.findOrCreate(email: address, displayName: "Test \(role.rawValue)", now: now, in: tx)
            try await StaffAccounts.setPassword(userID: user.id, hash: hash, now: now, in: tx)
            if let tenant {
                try await StaffAccounts.addMembership(userID: user.id, tenantID: tenant.id, role: role, now: now, in: tx)
            } else {
                // Platform administrators always sign in with two-factor: `platformCode(at:)` gives their code.
                try await StaffAccounts.makePlatformAdmin(userID: user.id, now: now, in: tx)
                _ = try await TwoFactor.enable(userID: user.id, secret: Self.platformTOTPSecret, confirmedStep: 0, now: now, in: tx)
            }
            return user
        }
        return (user.id, user.email)
    }

    /// The two-factor secret of every platform administrator `createUser` makes.
    public static let platformTOTPSecret = "kringTestPlatform2FA"

    /// The code a platform administrator's app shows at `date`.
    public static func platformCode(at date: Date) -> String { TwoFactor.code(secret: platformTOTPSecret, at: date) }

    public static func makeKeys(
        kids: [String] = ["k1"], active: String = "k1", issuer: String = "kring-test"
    ) async throws -> (TokenKeys, [String: Curve25519.Signing.PrivateKey]) {
        var keys: [String: Curve25519.Signing.PrivateKey] = [:]
        for kid in kids { keys[kid] = Curve25519.Signing.PrivateKey() }
        return (try await TokenKeys(privateKeys: keys, activeKID: active, issuer: issuer), keys)
    }

    /// Tests never sleep: a throttled address's wait goes to `pause`, which records it where a test asks.
    public func authentication(
        clock: TestClock, keys: TokenKeys, throttle: LoginThrottle = LoginThrottle(),
        pause: @escaping @Sendable (TimeInterval) async -> Void = { _ in }
    ) -> Authentication {
        Authentication(db: db, keys: keys, hasher: Self.hasher, throttle: throttle, environment: "test", now: clock.closure, pause: pause)
    }

    public func services(
        clock: TestClock, keys: TokenKeys? = nil, maxBodyBytes: Int = 64 * 1024, configure: (inout ServerSettings) -> Void = { _ in },
        pause: @escaping @Sendable (TimeInterval) async -> Void = { _ in }
    ) async throws -> AppServices {
        let tokenKeys: TokenKeys
        if let keys { tokenKeys = keys } else { tokenKeys = try await Self.makeKeys().0 }
        var settings = ServerSettings()
        settings.environment = "test"
        settings.maxBodyBytes = maxBodyBytes
        settings.links = Self.links
        configure(&settings)
        let migrations = try migrations
        return AppServices(
            db: db, owner: owner, authentication: authentication(clock: clock, keys: tokenKeys, pause: pause),
            provisioner: TenantProvisioner(migrator: Migrator(owner: owner, migrations: migrations)),
            migrations: migrations, settings: settings, metrics: Self.metrics, now: clock.closure)
    }

    /// Public links signed with a fixed test secret.
    public static let links = PublicLinks(
        baseURL: "https://kring.test", signer: try! LinkSigner(secret: Data(repeating: 7, count: 32)))

    public func application(_ services: AppServices) -> some ApplicationProtocol {
        Application(router: buildRouter(services))
    }

    /// The API, the public pages and the staff web app, with templates from `Admin/`.
    public func webApplication(_ services: AppServices) async throws -> some ApplicationProtocol {
        Application(router: buildKringRouter(services, templates: try await WebTemplates()))
    }
}
