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
        var fromName: String?
        var fromAddress: String?
        var replyTo: String?
        var rate: Int?
        var tracking = false
        let rows = try await tx.query("SELECT key, value #>> '{}' FROM settings WHERE key LIKE 'mail\\_%'")
        for try await (key, value) in rows.decode((String, String?).self) {
            switch key {
            case "mail_from_name": fromName = value
            case "mail_from_address": fromAddress = value
            case "mail_reply_to": replyTo = value
            // A setting that is stored but does not read is an error, not "no limit" or "no tracking".
            case "mail_rate_per_minute": rate = try UnreadableColumn.parse(value, as: Int.self, column: "settings.\(key)") { Int($0) }
            case "mail_tracking": tracking = try UnreadableColumn.parse(value, as: Bool.self, column: "settings.\(key)") { Bool($0) }
            default: continue
            }
        }
        return MailSettings(
            fromName: fromName, fromAddress: fromAddress, replyTo: replyTo, ratePerMinute: rate.flatMap { $0 > 0 ? $0 : nil },
            tracking: tracking)
    }
}
