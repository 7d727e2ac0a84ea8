/// Delivers rendered messages: SMTP in production, a folder of `.eml` files in development.
public protocol MailTransport: Sendable {
    /// Delivers the messages in order, over as few connections as the transport can; answers one result per
    /// message, in the same order. Delivery problems are results, never thrown, so a caller can record each one.
    func send(_ messages: [MailMessage]) async -> [DeliveryResult]

    /// As `send(_:)`, and tells `settled` of each result as soon as it is known (index into `messages`), so a
    /// caller can record a delivery before the next message goes out.
    func send(_ messages: [MailMessage], settled: @Sendable (Int, DeliveryResult) async -> Void) async -> [DeliveryResult]
}

extension MailTransport {
    public func send(_ messages: [MailMessage], settled: @Sendable (Int, DeliveryResult) async -> Void) async -> [DeliveryResult] {
        var results: [DeliveryResult] = []
        for (index, message) in messages.enumerated() {
            let result = await send([message])[0]
            await settled(index, result)
            results.append(result)
        }
        return results
    }

    public func send(_ message: MailMessage) async -> DeliveryResult {
        await send([message])[0]
    }
}

/// What became of one message.
public enum DeliveryResult: Sendable, Equatable {
    /// The relay took responsibility for the message; `reply` is its answer to the end of DATA.
    case sent(messageID: String, reply: String)
    /// Try again later (4xx, connection refused, timeout, lost connection), e.g. after `RetryPolicy`'s delay.
    case temporaryFailure(DeliveryFailure)
    /// Do not try again (5xx): a bounce at the door.
    case permanentFailure(DeliveryFailure)

    public var isSent: Bool { if case .sent = self { true } else { false } }

    public var failure: DeliveryFailure? {
        switch self {
        case .sent: nil
        case .temporaryFailure(let failure), .permanentFailure(let failure): failure
        }
    }
}

/// Where and why a delivery failed, with the server's reply when there was one.
public struct DeliveryFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case message, connect, greeting, hello, tls, auth
        case mailFrom = "mail_from"
        case rcptTo = "rcpt_to"
        case data, file
    }

    public var stage: Stage
    /// The SMTP reply code, when the server answered.
    public var code: Int?
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`, when the reply had one.
    public var enhancedStatus: String?
    public var message: String

    public init(stage: Stage, code: Int? = nil, enhancedStatus: String? = nil, message: String) {
        self.stage = stage
        self.code = code
        self.enhancedStatus = enhancedStatus
        self.message = message
    }

    public var description: String { "\(stage.rawValue): \(code.map { "\($0) " } ?? "")\(message)" }
}
