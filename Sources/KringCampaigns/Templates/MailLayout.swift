/// The frame around every mail of a library. `{{{content}}}` is where the rendered HTML or text part goes; the
/// layout sees the same variables as the template (`library.name`, `unsubscribe_url`, ...).
public struct MailLayout: Sendable, Hashable {
    public var html: String
    public var text: String

    public init(html: String, text: String) {
        self.html = html
        self.text = text
    }

    /// A plain frame with the footer every list mail needs: the library's name, unsubscribe and preferences.
    public static let standard = MailLayout(
        html: """
            <!DOCTYPE html>
            <html lang="nl">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{library.name}}</title>
            </head>
            <body style="margin:0;padding:0;background:#f4f4f4;">
            <div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#222222;">
            {{{content}}}
            </div>
            <div style="max-width:600px;margin:0 auto;padding:16px 24px;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:1.5;color:#666666;">
            <p>{{library.name}}</p>
            <p>{{#unsubscribe_url}}<a href="{{unsubscribe_url}}" style="color:#666666;">Afmelden</a>{{/unsubscribe_url}}{{#preferences_url}} | <a href="{{preferences_url}}" style="color:#666666;">Voorkeuren aanpassen</a>{{/preferences_url}}</p>
            </div>
            </body>
            </html>

            """,
        text: """
            {{{content}}}

            --
            {{library.name}}
            {{#unsubscribe_url}}Afmelden: {{unsubscribe_url}}
            {{/unsubscribe_url}}{{#preferences_url}}Voorkeuren aanpassen: {{preferences_url}}
            {{/preferences_url}}
            """)
}
