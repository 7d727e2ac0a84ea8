import Foundation
import KringAuth
import KringCampaigns
import KringDatabase
import Logging
import Prometheus

/// Settings a running server needs, read from `KRING_*` environment variables by the `kring` binary.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Largest JSON body accepted; larger answers 413.
    public var maxBodyBytes = 1 << 20
    /// Largest import upload; larger answers 413.
    public var maxImportBytes = 64 << 20
    /// The `<env>` part of API keys (`kr_<env>_...`).
    public var environment = "dev"
    /// Behind a reverse proxy: take the client address from the last `X-Forwarded-For` entry (the one the
    /// proxy added), so the login throttle counts clients, not the proxy.
    public var trustForwardedFor = false
    /// Signed public links (sign-up confirmation, unsubscribe, preference centre, tracking); nil leaves the
    /// public pages unserved (`KRING_PUBLIC_URL` and `KRING_LINK_SECRET_FILE`).
    public var links: PublicLinks?
    /// Where people reach Kring (`KRING_PUBLIC_URL`): the web app's cookies are `Secure` when it is https.
    public var publicURL = "http://127.0.0.1:8080"

    public init() {}
}

/// Everything the routes use, built once at start-up and injected (tests build their own).
public struct AppServices: Sendable {
    /// As `kring_app`: every request's data access.
    public let db: Database
    /// As the owner role: only for provisioning tenants, which creates roles and schemas.
    public let owner: Database
    public let authentication: Authentication
    public let provisioner: TenantProvisioner
    public let migrations: MigrationSet
    public let settings: ServerSettings
    public let metrics: PrometheusCollectorRegistry
    public let now: @Sendable () -> Date

    public init(
        db: Database, owner: Database, authentication: Authentication, provisioner: TenantProvisioner,
        migrations: MigrationSet, settings: ServerSettings, metrics: PrometheusCollectorRegistry,
        now: @escaping @Sendable () -> Date
    ) {
        self.db = db
        self.owner = owner
        self.authentication = authentication
        self.provisioner = provisioner
        self.migrations = migrations
        self.settings = settings
        self.metrics = metrics
        self.now = now
    }

    var hasher: PasswordHasher { authentication.hasher }
}
