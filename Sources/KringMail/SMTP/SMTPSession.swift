import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to the relay, from greeting to QUIT. Not shared between tasks.
///
/// Errors thrown are `SMTPSessionFailure`s: the connection is of no further use and the message in hand gets
/// the failure's result. Failures of a single message (a refused recipient) are answered as results instead.
final class SMTPSession {
    private let channel: any Channel
    private let replies: NIOLoopBound<SMTPReplyHandler>
    private let configuration: SMTPConfiguration
    private let logger: Logger
    private var extensions: [String: String] = [:]
    private var isTLS: Bool
    private(set) var transactions = 0

    private init(channel: any Channel, replies: NIOLoopBound<SMTPReplyHandler>, configuration: SMTPConfiguration, isTLS: Bool, logger: Logger) {
        self.channel = channel
        self.replies = replies
        self.configuration = configuration
        self.isTLS = isTLS
        self.logger = logger
    }

    /// Connects, reads the greeting, says EHLO (HELO when refused), starts TLS and authenticates as configured.
    static func open(_ configuration: SMTPConfiguration, tlsContext: NIOSSLContext?, logger: Logger) async throws(SMTPSessionFailure) -> SMTPSession {
        let implicitTLS = configuration.tls == .implicit
        let sniName = Self.sniName(configuration.host)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(configuration.timeouts.connect))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS, let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: sniName))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler())
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw SMTPSessionFailure(
                .temporaryFailure(
                    DeliveryFailure(stage: .connect, message: "cannot connect to \(configuration.host):\(configuration.port): \(error)")))
        }
        let replies: NIOLoopBound<SMTPReplyHandler>
        do {
            replies = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            channel.close(promise: nil)
            throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: .connect, message: "\(error)")))
        }
        let session = SMTPSession(channel: channel, replies: replies, configuration: configuration, isTLS: implicitTLS, logger: logger)
        do throws(SMTPSessionFailure) {
            try await session.start(tlsContext: tlsContext)
        } catch {
            session.close()
            throw error
        }
        return session
    }

    private func start(tlsContext: NIOSSLContext?) async throws(SMTPSessionFailure) {
        let greeting = try await reply(stage: .greeting)
        guard greeting.code == 220 else { throw SMTPSessionFailure(reply: greeting, stage: .greeting) }
        try await hello()
        let offersTLS = extensions["STARTTLS"] != nil
        switch configuration.tls {
        case .starttls where !offersTLS:
            throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: .tls, message: "the relay does not offer STARTTLS")))
        case .starttls where offersTLS, .opportunistic where offersTLS:
            let answer = try await command("STARTTLS", stage: .tls)
            guard answer.code == 220 else { throw SMTPSessionFailure(reply: answer, stage: .tls) }
            guard let tlsContext else { throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: .tls, message: "no TLS context"))) }
            let channel = channel
            let sniName = Self.sniName(configuration.host)
            do {
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tlsContext, serverHostname: sniName), position: .first)
                }.get()
            } catch {
                throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: .tls, message: "\(error)")))
            }
            isTLS = true
            // RFC 3207: forget what was learnt before TLS and ask again.
            try await hello()
        default:
            break
        }
        if let credentials = configuration.credentials { try await authenticate(credentials) }
    }

    private func hello() async throws(SMTPSessionFailure) {
        let ehlo = try await command("EHLO \(configuration.heloName)", stage: .hello)
        if ehlo.code == 250 {
            extensions = ehlo.extensions
            return
        }
        guard ehlo.isPermanent else { throw SMTPSessionFailure(reply: ehlo, stage: .hello) }
        let helo = try await command("HELO \(configuration.heloName)", stage: .hello)
        guard helo.code == 250 else { throw SMTPSessionFailure(reply: helo, stage: .hello) }
        extensions = [:]
    }

    /// AUTH PLAIN when offered, else LOGIN; never over a plain connection.
    private func authenticate(_ credentials: SMTPConfiguration.Credentials) async throws(SMTPSessionFailure) {
        guard isTLS else {
            throw SMTPSessionFailure(
                .permanentFailure(DeliveryFailure(stage: .auth, message: "credentials are only sent over TLS; set tls=starttls or tls=implicit")))
        }
        let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        let answer: SMTPReply
        if mechanisms.contains("PLAIN") {
            let token = Data(("\0" + credentials.username + "\0" + credentials.password).utf8).base64EncodedString()
            answer = try await command("AUTH PLAIN \(token)", stage: .auth, logAs: "AUTH PLAIN ***")
        } else if mechanisms.contains("LOGIN") {
            let start = try await command("AUTH LOGIN", stage: .auth)
            guard start.code == 334 else { throw SMTPSessionFailure(reply: start, stage: .auth) }
            let user = try await command(Data(credentials.username.utf8).base64EncodedString(), stage: .auth, logAs: "***")
            guard user.code == 334 else { throw SMTPSessionFailure(reply: user, stage: .auth) }
            answer = try await command(Data(credentials.password.utf8).base64EncodedString(), stage: .auth, logAs: "***")
        } else {
            throw SMTPSessionFailure(.permanentFailure(DeliveryFailure(stage: .auth, message: "the relay offers neither AUTH PLAIN nor AUTH LOGIN")))
        }
        guard answer.code == 235 else { throw SMTPSessionFailure(reply: answer, stage: .auth) }
    }

    /// One mail transaction: RSET (after the first), MAIL FROM, RCPT TO, DATA, pipelined when the relay allows.
    func deliver(_ message: MailMessage, bytes: [UInt8]) async throws(SMTPSessionFailure) -> DeliveryResult {
        var mailFrom = "MAIL FROM:<\(message.envelopeSender)>"
        if message.needsSMTPUTF8 {
            // An international address goes only to a relay that takes it as it is (RFC 6531); another relay would
            // refuse it or mangle it. Nothing is sent, so the connection stays usable for the next mail.
            guard extensions["SMTPUTF8"] != nil else {
                return .permanentFailure(
                    DeliveryFailure(stage: .mailFrom, message: "the relay does not accept international addresses (no SMTPUTF8)"))
            }
            mailFrom += extensions["8BITMIME"] != nil ? " BODY=8BITMIME SMTPUTF8" : " SMTPUTF8"
        }
        let reset = transactions > 0
        transactions += 1
        var commands: [(String, DeliveryFailure.Stage)] = []
        if reset { commands.append(("RSET", .mailFrom)) }
        commands.append((mailFrom, .mailFrom))
        commands.append(("RCPT TO:<\(message.to.address)>", .rcptTo))
        commands.append(("DATA", .data))

        var failure: DeliveryResult?
        var dataAccepted = false
        if extensions["PIPELINING"] != nil {
            try await write(commands.map { $0.0 + "\r\n" }.joined(), logAs: commands.map { Self.loggable($0.0) }.joined(separator: " | "))
            for (name, stage) in commands {
                let answer = try await reply(stage: stage)
                if answer.code == 421 { throw SMTPSessionFailure(reply: answer, stage: stage) }
                switch name {
                case "RSET": if answer.code != 250 { throw SMTPSessionFailure(reply: answer, stage: stage) }
                case "DATA": dataAccepted = answer.code == 354
                default: if failure == nil, !answer.isPositive { failure = Self.result(answer, stage: stage) }
                }
            }
        } else {
            for (name, stage) in commands {
                let answer = try await command(name, stage: stage)
                if answer.code == 421 { throw SMTPSessionFailure(reply: answer, stage: stage) }
                if name == "RSET" {
                    if answer.code != 250 { throw SMTPSessionFailure(reply: answer, stage: stage) }
                    continue
                }
                if name == "DATA" {
                    dataAccepted = answer.code == 354
                    if !dataAccepted { failure = Self.result(answer, stage: stage) }
                    break
                }
                if !answer.isPositive {
                    failure = Self.result(answer, stage: stage)
                    break
                }
            }
        }
        if let failure {
            // A relay that said 354 although MAIL or RCPT failed has no recipient: end the empty message to stay in step.
            if dataAccepted {
                try await write(".\r\n", logAs: ".")
                _ = try await reply(stage: .data, timeout: configuration.timeouts.data)
            }
            return failure
        }
        guard dataAccepted else {
            return .temporaryFailure(DeliveryFailure(stage: .data, message: "the relay did not accept DATA"))
        }
        var buffer = channel.allocator.buffer(capacity: bytes.count + bytes.count / 50 + 8)
        DotStuffing.write(bytes, into: &buffer)
        try await write(buffer, logAs: "(message \(bytes.count) bytes)")
        let final = try await reply(stage: .data, timeout: configuration.timeouts.data)
        if final.code == 421 { throw SMTPSessionFailure(reply: final, stage: .data) }
        guard final.code == 250 else { return Self.result(final, stage: .data) }
        return .sent(messageID: message.messageID, reply: final.description)
    }

    /// Says QUIT and closes, without caring for the answer beyond a short wait.
    func quit() async {
        do {
            try await write("QUIT\r\n", logAs: "QUIT")
            _ = try await reply(stage: .hello, timeout: .seconds(5))
        } catch {}
        close()
    }

    func close() {
        channel.close(promise: nil)
    }

    // MARK: - Wire

    /// A command as the trace log may show it: a recipient's address is personal data.
    static func loggable(_ command: String) -> String {
        command.hasPrefix("RCPT TO:") ? "RCPT TO:<***>" : command
    }

    private func command(_ line: String, stage: DeliveryFailure.Stage, logAs: String? = nil) async throws(SMTPSessionFailure) -> SMTPReply {
        try await write(line + "\r\n", logAs: logAs ?? Self.loggable(line))
        return try await reply(stage: stage)
    }

    private func write(_ text: String, logAs: String) async throws(SMTPSessionFailure) {
        try await write(channel.allocator.buffer(string: text), logAs: logAs)
    }

    private func write(_ buffer: ByteBuffer, logAs: String) async throws(SMTPSessionFailure) {
        logger.trace("smtp >", metadata: ["command": "\(logAs)"])
        do {
            try await channel.writeAndFlush(buffer)
        } catch {
            throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: .connect, message: "\(error)")))
        }
    }

    private func reply(stage: DeliveryFailure.Stage, timeout: Duration? = nil) async throws(SMTPSessionFailure) -> SMTPReply {
        let replies = replies
        let eventLoop = channel.eventLoop
        let timeout = timeout ?? configuration.timeouts.command
        do {
            let reply = try await eventLoop.flatSubmit { replies.value.nextReply(eventLoop: eventLoop, timeout: timeout) }.get()
            // A relay's answer to RCPT often repeats the address: only its code is traced.
            logger.trace("smtp <", metadata: ["reply": "\(reply.code) \(stage == .rcptTo ? "***" : reply.lines.first ?? "")"])
            return reply
        } catch {
            throw SMTPSessionFailure(.temporaryFailure(DeliveryFailure(stage: stage, message: "\(error)")))
        }
    }

    static func result(_ reply: SMTPReply, stage: DeliveryFailure.Stage) -> DeliveryResult {
        let failure = DeliveryFailure(stage: stage, code: reply.code, enhancedStatus: reply.enhancedStatus, message: reply.text)
        return reply.isPermanent ? .permanentFailure(failure) : .temporaryFailure(failure)
    }

    /// SNI takes host names only; for an IP address the certificate is checked against the address.
    static func sniName(_ host: String) -> String? {
        if (try? SocketAddress(ipAddress: host, port: 0)) != nil { return nil }
        return host
    }
}

/// The connection failed or became unusable; `result` is what the message in hand (and, when nothing got
/// through, every message still waiting) becomes.
struct SMTPSessionFailure: Error {
    let result: DeliveryResult

    init(_ result: DeliveryResult) { self.result = result }

    init(reply: SMTPReply, stage: DeliveryFailure.Stage) {
        result = SMTPSession.result(reply, stage: stage)
    }
}
