import Foundation
import KringDatabase
import PostgresNIO

/// Opens and clicks, recorded only where the library switched `mail_tracking` on (off by default: measuring who
/// reads what is the library's choice, and its privacy statement must say so).
public enum Tracking {
    /// Whether the library tracks opens and clicks.
    public static func enabled(in tx: TenantTransaction) async throws -> Bool {
        let rows = try await tx.query("SELECT value #>> '{}' FROM settings WHERE key = 'mail_tracking'")
        for try await value in rows.decode(String.self) {
            return try UnreadableColumn.parse(value, as: Bool.self, column: "settings.mail_tracking") { Bool($0) }
        }
        return false
    }

    /// Records that the mail of `sendID` was opened (its pixel loaded), if tracking is on and the send exists.
    public static func opened(sendID: UUID, now: Date, in tx: TenantTransaction) async throws {
        guard try await enabled(in: tx), let send = try await MailedSend.find(id: sendID, in: tx) else { return }
        try await send.record("opened", at: now, in: tx)
    }

    /// Records a click on `url` in the mail of `sendID`, if tracking is on and the send exists.
    public static func clicked(sendID: UUID, url: String, now: Date, in tx: TenantTransaction) async throws {
        guard try await enabled(in: tx), let send = try await MailedSend.find(id: sendID, in: tx) else { return }
        try await send.record("clicked", url: String(url.prefix(2000)), at: now, in: tx)
    }
}
