import Foundation
import KringDatabase

/// The library's mail settings (table `settings`, keys `mail_*`).
public struct MailSettings: Sendable, Equatable {
    public var fromName: String?
    public var fromAddress: String?
    public var replyTo: String?
    /// Mails per minute over all workers; nil: as fast as the workers go.
    public var ratePerMinute: Int?
    /// Open pixel and click redirects; off unless the library switches it on.
    public var tracking: Bool

    public static func load(in tx: TenantTransaction) async throws -> MailSettings {
        var values: [String: String] = [:]
        let rows = try await tx.query("SELECT key, value #>> '{}' FROM settings WHERE key LIKE 'mail\\_%'")
        for try await (key, value) in rows.decode((String, String?).self) { values[key] = value }
        return MailSettings(fromName: values["mail_from_name"], fromAddress: values["mail_from_address"], replyTo: values["mail_reply_to"],
                            ratePerMinute: values["mail_rate_per_minute"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil },
                            tracking: values["mail_tracking"] == "true")
    }
}
