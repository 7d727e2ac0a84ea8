import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringMail

struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "Check the mail relay and take in bounce and complaint reports.",
        subcommands: [SendTest.self, IngestDSN.self])

    struct SendTest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-test", abstract: "Send one test message through the relay of KRING_SMTP_URL (or --smtp).")
        @Option(help: "The recipient.") var to: String
        @Option(help: "smtp://user:password@host:port?tls=starttls|implicit|opportunistic|none, or file:///folder; default KRING_SMTP_URL.")
        var smtp: String?
        @Option(help: "The sender, e.g. 'Bibliotheek <noreply@bibliotheek.example>'; default KRING_MAIL_FROM.") var from: String?

        func run() async throws {
            let env = Environment()
            let transport = try MailTransports.from(url: try smtp ?? env.require("KRING_SMTP_URL"), logger: env.logger)
            let sender = try MailCommand.mailbox(try from ?? env.require("KRING_MAIL_FROM"))
            let message = try MailMessage(
                from: sender, to: try MailAddress(to), subject: "Kring: testbericht / test message",
                text: "Dit is een testbericht van Kring. Komt het aan, dan werkt de verzending.\n\nThis is a test message from Kring.\n",
                html:
                    "<p>Dit is een <strong>testbericht</strong> van Kring. Komt het aan, dan werkt de verzending.</p>\n<p>This is a test message from Kring.</p>\n",
                oneClickUnsubscribe: false)
            switch await transport.send(message) {
            case .sent(let messageID, let reply):
                print("sent <\(messageID)>: \(reply)")
            case .temporaryFailure(let failure):
                print("temporary failure (try again later): \(failure)")
                throw ExitCode(1)
            case .permanentFailure(let failure):
                print("permanent failure: \(failure)")
                throw ExitCode(2)
            }
        }
    }

    struct IngestDSN: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ingest-dsn",
            abstract: "Read a bounce (RFC 3464) or complaint report (ARF) and suppress the addresses that bounced hard or complained.")
        @Option(help: "The library the report is for.") var tenant: String
        @Option(help: "The report as a message file; standard input when not given.") var file: String?

        static let maxBytes = 25 * 1024 * 1024

        func run() async throws {
            let data = try file.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } ?? FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= Self.maxBytes else { throw ValidationError("the report is larger than \(Self.maxBytes) bytes") }
            let feedback: MailFeedback
            do {
                feedback = try DSNParser.parse(data)
            } catch {
                print("not taken in: \(error)")
                throw ExitCode(2)
            }
            guard let slug = TenantSlug(tenant) else { throw ValidationError("no tenant \(tenant)") }
            let lines = try await Environment().withOwner { owner in
                guard let found = try await owner.withPlatform({ tx in try await TenantDirectory.find(slug: slug, in: tx) }) else {
                    throw TenantError.notFound(slug.value)
                }
                return try await owner.withTenant(found) { tx in
                    try await MailCommand.apply(feedback, now: Date(), in: tx)
                }
            }
            for line in lines { print(line) }
        }
    }

    /// Suppresses the addresses that bounced hard or complained; answers one line per recipient for the operator.
    static func apply(_ feedback: MailFeedback, now: Date, in tx: TenantTransaction) async throws -> [String] {
        var lines: [String] = []
        for recipient in feedback.recipients {
            let reason: Suppressions.Reason? =
                switch recipient.kind {
                case .hardBounce: .hardBounce
                case .complaint: .complaint
                case .softBounce, .delayed, .delivered: nil
                }
            guard let reason else {
                lines.append("\(recipient.address): \(recipient.kind.rawValue) \(recipient.status ?? ""), not suppressed")
                continue
            }
            guard let email = EmailAddress(recipient.address) else {
                lines.append("\(recipient.address): not an e-mail address, skipped")
                continue
            }
            let detail = recipient.diagnosticCode ?? recipient.status ?? feedback.feedbackType
            let outcome = try await Suppressions.suppress(email, reason: reason, detail: detail, by: .system, now: now, in: tx)
            lines.append(
                outcome.added
                    ? "\(email): suppressed (\(reason.rawValue)), \(outcome.customerIDs.count) customer(s) noted"
                    : "\(email): already suppressed")
        }
        if feedback.recipients.isEmpty { lines.append("\(feedback.type.rawValue) \(feedback.feedbackType ?? ""): nothing to suppress") }
        return lines
    }

    /// `Name <address>` or a bare address.
    static func mailbox(_ text: String) throws -> MailAddress {
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return try MailAddress(String(text[text.index(after: open)..<text.index(before: text.endIndex)]), name: name.isEmpty ? nil : name)
        }
        return try MailAddress(text)
    }
}
