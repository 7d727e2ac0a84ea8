import Foundation

/// Writes each message as an `.eml` file into a folder instead of sending it (development, demos).
public struct FileTransport: MailTransport {
    public let folder: URL
    public var writer: MIMEWriter

    public init(folder: URL, writer: MIMEWriter = MIMEWriter()) {
        self.folder = folder
        self.writer = writer
    }

    public func send(_ messages: [MailMessage]) async -> [DeliveryResult] {
        messages.map { message in
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let bytes = try writer.write(message)
                let file = folder.appendingPathComponent(Self.fileName(for: message))
                // Written beside and renamed, so a reader never sees half a message.
                let partial = file.appendingPathExtension("partial")
                try Data(bytes).write(to: partial)
                try FileManager.default.moveItem(at: partial, to: file)
                return .sent(messageID: message.messageID, reply: "stored as \(file.path)")
            } catch let error as MailError {
                return .permanentFailure(DeliveryFailure(stage: .message, message: "\(error)"))
            } catch {
                return .temporaryFailure(DeliveryFailure(stage: .file, message: "\(error)"))
            }
        }
    }

    /// `<message-id>.eml` with anything but letters, digits, `.`, `-` and `_` replaced.
    static func fileName(for message: MailMessage) -> String {
        let safe = message.messageID.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        }
        return String(safe) + ".eml"
    }
}
