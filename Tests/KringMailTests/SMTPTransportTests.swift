import Foundation
import KringMail
import KringTestSupport
import NIOCore
import NIOPosix
import Testing

/// Delivery through a real SMTP server (`Deploy/smtp-sink.py`, aiosmtpd) on 127.0.0.1.
@Suite struct SMTPTransportTests {
    static let fast = SMTPConfiguration.Timeouts(connect: .seconds(5), command: .seconds(10), data: .seconds(10))

    static func configuration(
        _ sink: SMTPSink, tls: SMTPConfiguration.TLSMode = .none, credentials: SMTPConfiguration.Credentials? = nil,
        maxPerConnection: Int = 100
    ) -> SMTPConfiguration {
        SMTPConfiguration(
            host: "127.0.0.1", port: sink.port, tls: tls, credentials: credentials, trustRootsFile: sink.certificateFile,
            heloName: "kring.test", timeouts: fast, maxMessagesPerConnection: maxPerConnection)
    }

    static let text = """
        Beste Anna,

        Zaterdag is er een voorleesochtend in het caf\u{e9} \u{2014} gratis voor leden.
        .
        ..twee punten
        .een punt vooraan
        Kosten = \u{20ac} 0,00 \u{20}\u{20}
        \(String(repeating: "Een lange regel zonder einde ", count: 6))

        Groet, de bibliotheek \u{1F4DA}
        """
    static let html = "<p>Beste Anna,</p>\n.\n<p>Zaterdag is er een <b>voorleesochtend</b> in het caf\u{e9} \u{2014} gratis.</p>\n"

    static func message(
        to: String = "anna@example.nl", subject: String = "Voorlezen in het caf\u{e9} \u{1F4DA}", number: Int? = nil
    ) throws -> MailMessage {
        try MailMessage(
            from: MailAddress("nieuws@bibliotheekzk.example", name: "Bibliotheek Zuid-Kennemerland \u{e9}"),
            replyTo: MailAddress("info@bibliotheekzk.example", name: "Klantenservice"),
            to: MailAddress(to, name: "Anna de Vries"), returnPath: "bounces@bibliotheekzk.example",
            subject: number.map { "\(subject) #\($0)" } ?? subject, text: text, html: html,
            unsubscribeURL: URL(string: "https://kring.example/s/u/tok-123"))
    }

    @Test func plainDeliveryArrivesWithHeadersAndBothParts() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let message = try Self.message()
        let result = try await SMTPTransport(Self.configuration(sink)).send(message)
        guard case .sent(let messageID, let reply) = result else {
            Issue.record("not sent: \(result)")
            return
        }
        #expect(messageID == message.messageID)
        #expect(reply.hasPrefix("250 2.0.0 Ok: queued as sink-"))

        let received = try #require(try sink.received().first)
        #expect(received.defects.isEmpty)
        #expect(received.mailFrom == "bounces@bibliotheekzk.example")
        #expect(received.recipients == ["anna@example.nl"])
        #expect(received.header("Subject") == "Voorlezen in het caf\u{e9} \u{1F4DA}")
        #expect(received.header("From") == "Bibliotheek Zuid-Kennemerland \u{e9} <nieuws@bibliotheekzk.example>")
        #expect(received.header("Reply-To") == "Klantenservice <info@bibliotheekzk.example>")
        #expect(received.header("To") == "Anna de Vries <anna@example.nl>")
        #expect(received.header("Message-ID") == "<\(message.messageID)>")
        #expect(received.header("List-Unsubscribe") == "<https://kring.example/s/u/tok-123>")
        #expect(received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
        #expect(received.header("MIME-Version") == "1.0")
        #expect(received.contentType == "multipart/alternative")
        #expect(received.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(received.parts.allSatisfy { $0.charset == "utf-8" && $0.transferEncoding == "quoted-printable" })
        // Python's parser decodes both parts back to the text Kring was given: dots, `=`, trailing spaces, emoji.
        #expect(received.parts[0].text == Self.text)
        #expect(received.parts[1].text == Self.html)
        // The raw message: the subject went as encoded-words, lines within limits.
        #expect(received.rawText.contains("Subject: =?UTF-8?Q?"))
        #expect(received.rawText.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
    }

    /// An international address (RFC 6531) goes as UTF-8 to a relay that offers SMTPUTF8; a relay that does not
    /// gets nothing for it (a permanent failure that says why), and the connection goes on with the next mail.
    @Test(arguments: [true, false])
    func internationalAddressesNeedSMTPUTF8(offered: Bool) async throws {
        var options = SMTPSink.Options()
        options.smtpUTF8 = offered
        options.pipelining = true
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let messages = [try Self.message(to: "zo\u{eb}@example.nl"), try Self.message(to: "bram@example.nl")]
        let transport = try SMTPTransport(Self.configuration(sink))
        let results = await transport.send(messages)
        try #require(results.count == 2)
        guard case .sent = results[1] else {
            Issue.record("the next mail was not sent: \(results[1])")
            return
        }
        let received = try sink.received()
        if offered {
            guard case .sent = results[0] else {
                Issue.record("not sent: \(results[0])")
                return
            }
            #expect(received.map(\.recipients) == [["zo\u{eb}@example.nl"], ["bram@example.nl"]])
            let first = try #require(received.first)
            #expect(first.header("To") == "Anna de Vries <zo\u{eb}@example.nl>")
            #expect(first.rawText.contains("To: Anna de Vries <zo\u{eb}@example.nl>"))
            #expect(first.parts[0].text == Self.text)
        } else {
            guard case .permanentFailure(let failure) = results[0] else {
                Issue.record("not refused: \(results[0])")
                return
            }
            #expect(failure.stage == .mailFrom)
            #expect(failure.description.contains("SMTPUTF8"))
            #expect(received.map(\.recipients) == [["bram@example.nl"]])
        }
    }

    @Test(arguments: ["PLAIN", "LOGIN"])
    func startTLSWithAuthentication(mechanism: String) async throws {
        var options = SMTPSink.Options()
        options.tls = .starttls
        options.requireStartTLS = true
        options.credentials = ("kring", "s3cret p\u{e4}ss")
        options.authOnly = mechanism
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let config = Self.configuration(sink, tls: .starttls, credentials: .init(username: "kring", password: "s3cret p\u{e4}ss"))
        let result = try await SMTPTransport(config).send(try Self.message())
        #expect(result.isSent, "\(result)")
        let received = try #require(try sink.received().first)
        #expect(received.tls)
        #expect(received.login == "kring")
        #expect(received.parts[0].text == Self.text)
        // EHLO twice: before and after STARTTLS (RFC 3207), the second over TLS.
        let hellos = try sink.events().filter { $0.event == "ehlo" }
        #expect(hellos.map(\.tls) == [false, true])
    }

    @Test func implicitTLS() async throws {
        var options = SMTPSink.Options()
        options.tls = .implicit
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let result = try await SMTPTransport(Self.configuration(sink, tls: .implicit)).send(try Self.message())
        #expect(result.isSent, "\(result)")
        #expect(try sink.received().first?.tls == true)
    }

    @Test func wrongPasswordIsAPermanentAuthFailure() async throws {
        var options = SMTPSink.Options()
        options.tls = .starttls
        options.credentials = ("kring", "right")
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let config = Self.configuration(sink, tls: .starttls, credentials: .init(username: "kring", password: "wrong"))
        let results = try await SMTPTransport(config).send([try Self.message(number: 1), try Self.message(number: 2)])
        for result in results {
            guard case .permanentFailure(let failure) = result else {
                Issue.record("expected a permanent failure: \(result)")
                continue
            }
            #expect(failure.stage == .auth)
            #expect(failure.code == 535)
        }
        #expect(try sink.received().isEmpty)
    }

    @Test func credentialsAreNeverSentWithoutTLS() async throws {
        var options = SMTPSink.Options()
        options.credentials = ("kring", "secret")
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let result = try await SMTPTransport(Self.configuration(sink, tls: .none, credentials: .init(username: "kring", password: "secret")))
            .send(try Self.message())
        #expect(result.failure?.stage == .auth)
        #expect(try sink.received().isEmpty)
    }

    @Test func requiredSTARTTLSThatIsNotOfferedIsATemporaryFailure() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let result = try await SMTPTransport(Self.configuration(sink, tls: .starttls)).send(try Self.message())
        guard case .temporaryFailure(let failure) = result else {
            Issue.record("expected a temporary failure: \(result)")
            return
        }
        #expect(failure.stage == .tls)
        #expect(try sink.received().isEmpty)
    }

    @Test func anUntrustedCertificateIsRefused() async throws {
        var options = SMTPSink.Options()
        options.tls = .starttls
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        var config = Self.configuration(sink, tls: .starttls)
        config.trustRootsFile = nil  // the system's roots do not know the sink's self-signed certificate
        let result = try await SMTPTransport(config).send(try Self.message())
        guard case .temporaryFailure = result else {
            Issue.record("expected a temporary failure: \(result)")
            return
        }
        #expect(try sink.received().isEmpty)
    }

    @Test(arguments: [true, false])
    func manyMessagesGoOverOneConnectionWithRSET(pipelining: Bool) async throws {
        var options = SMTPSink.Options()
        options.pipelining = pipelining
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let messages = try (1...25).map { (n: Int) in try Self.message(to: "lid\(n)@example.nl", number: n) }
        let results = try await SMTPTransport(Self.configuration(sink)).send(messages)
        #expect(results.count == 25)
        #expect(results.allSatisfy { $0.isSent }, "\(results.filter { !$0.isSent })")
        let received = try sink.received()
        #expect(received.count == 25)
        #expect(Set(received.map(\.peerPort)).count == 1, "one connection")
        #expect(received.map { $0.recipients.first ?? "" } == (1...25).map { "lid\($0)@example.nl" })
        #expect(received.map { $0.header("Subject") ?? "" } == (1...25).map { "Voorlezen in het caf\u{e9} \u{1F4DA} #\($0)" })
        #expect(received.allSatisfy { $0.parts.first?.text == Self.text })
        let events = try sink.events()
        #expect(events.filter { $0.event == "rset" }.count == 24)
        #expect(events.filter { $0.event == "ehlo" }.count == 1)
    }

    @Test func aNewConnectionAfterTheConfiguredNumberOfMessages() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.stop() }
        let messages = try (1...5).map { try Self.message(number: $0) }
        let results = try await SMTPTransport(Self.configuration(sink, maxPerConnection: 2)).send(messages)
        #expect(results.allSatisfy { $0.isSent })
        let ports = try sink.received().map(\.peerPort)
        #expect(ports.count == 5)
        #expect(ports[0] == ports[1] && ports[2] == ports[3] && Set(ports).count == 3)
    }

    @Test(arguments: [true, false])
    func refusedRecipientsAreClassifiedAndTheRestIsDelivered(pipelining: Bool) async throws {
        var options = SMTPSink.Options()
        options.pipelining = pipelining
        options.rejects = ["busy@example.nl": 451, "gone@example.nl": 550, "full@example.nl": 452]
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let addresses = ["one@example.nl", "gone@example.nl", "two@example.nl", "busy@example.nl", "full@example.nl", "three@example.nl"]
        let results = try await SMTPTransport(Self.configuration(sink)).send(try addresses.map { try Self.message(to: $0) })
        #expect(results[0].isSent && results[2].isSent && results[5].isSent)
        guard case .permanentFailure(let gone) = results[1] else {
            Issue.record("550 must be permanent: \(results[1])")
            return
        }
        #expect(gone.code == 550 && gone.enhancedStatus == "5.1.1" && gone.stage == .rcptTo)
        guard case .temporaryFailure(let busy) = results[3] else {
            Issue.record("451 must be temporary: \(results[3])")
            return
        }
        #expect(busy.code == 451 && busy.enhancedStatus == "4.3.0" && busy.stage == .rcptTo)
        guard case .temporaryFailure(let full) = results[4] else {
            Issue.record("452 must be temporary: \(results[4])")
            return
        }
        #expect(full.code == 452)
        let received = try sink.received()
        #expect(received.map { $0.recipients.first ?? "" } == ["one@example.nl", "two@example.nl", "three@example.nl"])
        #expect(Set(received.map(\.peerPort)).count == 1, "a refused recipient does not cost the connection")
    }

    @Test func aRelayThatClosesTheSessionCostsOneMessageAndTheRestGoesOverANewConnection() async throws {
        var options = SMTPSink.Options()
        options.rejects = ["closing@example.nl": 421]
        let sink = try await SMTPSink.start(options)
        defer { sink.stop() }
        let addresses = ["one@example.nl", "closing@example.nl", "two@example.nl"]
        let results = try await SMTPTransport(Self.configuration(sink)).send(try addresses.map { try Self.message(to: $0) })
        #expect(results[0].isSent && results[2].isSent)
        guard case .temporaryFailure(let closing) = results[1] else {
            Issue.record("421 must be temporary: \(results[1])")
            return
        }
        #expect(closing.code == 421)
        let received = try sink.received()
        #expect(received.map { $0.recipients.first ?? "" } == ["one@example.nl", "two@example.nl"])
        #expect(received[0].peerPort != received[1].peerPort, "after 421 the connection is not used again")
    }

    @Test func nothingListeningIsATemporaryFailure() async throws {
        // A port that was free a moment ago; nothing listens on it.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        let config = SMTPConfiguration(host: "127.0.0.1", port: port, tls: .none, timeouts: Self.fast)
        let results = try await SMTPTransport(config).send([try Self.message(number: 1), try Self.message(number: 2)])
        for result in results {
            guard case .temporaryFailure(let failure) = result else {
                Issue.record("expected a temporary failure: \(result)")
                continue
            }
            #expect(failure.stage == .connect)
        }
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // A real TCP server that accepts and says nothing: the greeting never comes.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let timeouts = SMTPConfiguration.Timeouts(connect: .seconds(2), command: .milliseconds(300), data: .seconds(1))
        let config = SMTPConfiguration(host: "127.0.0.1", port: channel.localAddress!.port!, tls: .none, timeouts: timeouts)
        let started = ContinuousClock.now
        let result = try await SMTPTransport(config).send(try Self.message())
        guard case .temporaryFailure(let failure) = result else {
            Issue.record("expected a temporary failure: \(result)")
            return
        }
        #expect(failure.stage == .greeting)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func fileTransportWritesMessagesThatParseBack() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-mail-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let transport = try MailTransports.from(url: "file://\(folder.path)")
        let message = try Self.message()
        let result = await transport.send(message)
        #expect(result.isSent)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.count == 1 && files[0].hasSuffix(".eml"))
        let entity = MIMEEntity(parsing: try Data(contentsOf: folder.appendingPathComponent(files[0])))
        #expect(entity.header("Message-ID") == "<\(message.messageID)>")
        #expect(entity.parts.first?.text == Self.text)
    }
}

@Suite struct SMTPConfigurationTests {
    @Test func urlIsReadAndThePasswordNeverShown() throws {
        let config = try SMTPConfiguration(url: "smtp://mailer%40bieb:p%40ss%3Aword@relay.example.nl:2525?tls=opportunistic&helo=kring.bieb.nl")
        #expect(config.host == "relay.example.nl")
        #expect(config.port == 2525)
        #expect(config.tls == .opportunistic)
        #expect(config.credentials?.username == "mailer@bieb")
        #expect(config.credentials?.password == "p@ss:word")
        #expect(config.heloName == "kring.bieb.nl")
        #expect(!"\(config)".contains("p@ss") && !"\(config)".contains("word"))
        #expect("\(config)" == "smtp://mailer@bieb:***@relay.example.nl:2525?tls=opportunistic")

        #expect(try SMTPConfiguration(url: "smtps://relay.example.nl").tls == .implicit)
        #expect(try SMTPConfiguration(url: "smtps://relay.example.nl").port == 465)
        #expect(try SMTPConfiguration(url: "smtp://relay.example.nl").tls == .starttls)
        #expect(try SMTPConfiguration(url: "smtp://relay.example.nl").port == 587)
        #expect(try SMTPConfiguration(url: "smtp://relay.example.nl:25?tls=none").tls == SMTPConfiguration.TLSMode.none)
        #expect(throws: MailError.self) { try SMTPConfiguration(url: "smtp://relay.example.nl?tls=maybe") }
        #expect(throws: MailError.self) { try SMTPConfiguration(url: "smtp://relay.example.nl?verify=off") }
        #expect(throws: MailError.self) { try SMTPConfiguration(url: "http://relay.example.nl") }
    }

    @Test func retryPolicyBacksOffExponentiallyWithBoundedJitter() {
        let policy = RetryPolicy(initialDelay: 60, multiplier: 2, maximumDelay: 3600, maximumAttempts: 6, jitter: 0.2)
        var generator = SplitMix64(seed: 3)
        for attempt in 1...5 {
            let base = min(3600, 60 * pow(2, Double(attempt - 1)))
            for _ in 0..<50 {
                let delay = policy.delay(afterFailedAttempts: attempt, using: &generator)!
                #expect(delay >= base * 0.8 && delay <= min(3600, base * 1.2))
            }
        }
        #expect(policy.delay(afterFailedAttempts: 6, using: &generator) == nil)
        #expect(policy.delay(afterFailedAttempts: 0, using: &generator) == nil)
        let exact = RetryPolicy(initialDelay: 10, multiplier: 3, maximumDelay: 100, maximumAttempts: 10, jitter: 0)
        #expect((1...5).map { exact.delay(afterFailedAttempts: $0, using: &generator) } == [10, 30, 90, 100, 100])
        let now = Date(timeIntervalSince1970: 1_795_780_800)
        #expect(exact.nextAttempt(afterFailedAttempts: 2, now: now) == now.addingTimeInterval(30))
        // Jitter spreads: not every delay is the same.
        let spread = Set((0..<20).map { _ in policy.delay(afterFailedAttempts: 1, using: &generator)! })
        #expect(spread.count > 10)
    }
}
