import Foundation
import Logging
import NIOSSL

/// Sends through an SMTP relay over SwiftNIO: one connection for a batch (RSET between messages, PIPELINING
/// when offered), a fresh connection after `maxMessagesPerConnection` or when one is lost.
public struct SMTPTransport: MailTransport {
    public let configuration: SMTPConfiguration
    public var writer: MIMEWriter
    private let tlsContext: NIOSSLContext?
    private let logger: Logger

    public init(_ configuration: SMTPConfiguration, writer: MIMEWriter = MIMEWriter(), logger: Logger = Logger(label: "kring.mail")) throws(MailError)
    {
        self.configuration = configuration
        self.writer = writer
        self.logger = logger
        guard configuration.tls != .none else {
            tlsContext = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let file = configuration.trustRootsFile { tls.trustRoots = .file(file) }
        do {
            tlsContext = try NIOSSLContext(configuration: tls)
        } catch {
            throw MailError.invalidConfiguration("Cannot set up TLS for the SMTP relay: \(error)")
        }
    }

    public func send(_ messages: [MailMessage]) async -> [DeliveryResult] {
        await send(messages, settled: { _, _ in })
    }

    public func send(_ messages: [MailMessage], settled: @Sendable (Int, DeliveryResult) async -> Void) async -> [DeliveryResult] {
        var results: [DeliveryResult] = []
        results.reserveCapacity(messages.count)
        var rendered: [[UInt8]?] = []
        for message in messages {
            do {
                rendered.append(try writer.write(message))
            } catch {
                rendered.append(nil)
            }
        }
        func settle(_ result: DeliveryResult) async {
            results.append(result)
            await settled(results.count - 1, result)
        }
        // Each pass either delivers at least one message or settles all that are left, so this ends.
        while results.count < messages.count {
            let firstOnConnection = results.count
            let session: SMTPSession
            do throws(SMTPSessionFailure) {
                session = try await SMTPSession.open(configuration, tlsContext: tlsContext, logger: logger)
            } catch {
                logger.warning(
                    "smtp connection failed", metadata: ["relay": "\(configuration)", "failure": "\(error.result.failure?.description ?? "")"])
                while results.count < messages.count { await settle(error.result) }
                break
            }
            do throws(SMTPSessionFailure) {
                while results.count < messages.count, results.count - firstOnConnection < configuration.maxMessagesPerConnection {
                    let index = results.count
                    guard let bytes = rendered[index] else {
                        await settle(.permanentFailure(DeliveryFailure(stage: .message, message: "the message cannot be written")))
                        continue
                    }
                    await settle(try await session.deliver(messages[index], bytes: bytes))
                }
                await session.quit()
            } catch {
                session.close()
                logger.warning(
                    "smtp connection lost", metadata: ["relay": "\(configuration)", "failure": "\(error.result.failure?.description ?? "")"])
                // Lost after some messages went through: try the rest on a new connection. Lost before any did:
                // the relay is not taking mail now, so the rest waits for a retry too.
                let progressed = results.count > firstOnConnection
                await settle(error.result)
                if !progressed { while results.count < messages.count { await settle(error.result) } }
            }
        }
        return results
    }
}
