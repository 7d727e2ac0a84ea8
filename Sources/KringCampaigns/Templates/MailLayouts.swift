import Foundation
import KringDatabase
import PostgresNIO

public enum MailLayouts {
    /// The library's layout (settings `mail_layout_html` and `mail_layout_text`). A part that is not set, does not
    /// parse or has no `{{{content}}}` is the standard one, so a broken setting never swallows the mail's content.
    public static func load(in tx: TenantTransaction) async throws -> MailLayout {
        var layout = MailLayout.standard
        let rows = try await tx.query(
            """
            SELECT key, value #>> '{}' FROM settings WHERE key IN ('mail_layout_html', 'mail_layout_text') AND jsonb_typeof(value) = 'string'
            """)
        for try await (key, value) in rows.decode((String, String).self) where isUsable(value) {
            if key == "mail_layout_html" { layout.html = value } else { layout.text = value }
        }
        return layout
    }

    static func isUsable(_ layout: String) -> Bool {
        (layout.contains("{{{content}}}") || layout.contains("{{& content}}") || layout.contains("{{&content}}")) && MailRenderer.check(layout) == nil
    }
}
