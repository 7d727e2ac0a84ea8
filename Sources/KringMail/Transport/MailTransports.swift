import Foundation
import Logging

public enum MailTransports {
    /// The transport `KRING_SMTP_URL` names: `smtp://` or `smtps://` for a relay, `file:///folder` for `.eml` files.
    public static func from(
        url: String, writer: MIMEWriter = MIMEWriter(), logger: Logger = Logger(label: "kring.mail")
    ) throws(MailError) -> any MailTransport {
        if url.lowercased().hasPrefix("file://") {
            guard let parsed = URL(string: url), parsed.isFileURL, !parsed.path.isEmpty else {
                throw MailError.invalidConfiguration("Give the folder as file:///absolute/path.")
            }
            return FileTransport(folder: parsed, writer: writer)
        }
        return try SMTPTransport(try SMTPConfiguration(url: url), writer: writer, logger: logger)
    }
}
