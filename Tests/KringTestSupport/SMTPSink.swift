import Foundation
import Synchronization

/// A real SMTP server for tests: `Deploy/smtp-sink.py` (Python `aiosmtpd`, installed by `Deploy/test.sh`)
/// started on a free port of 127.0.0.1, storing what it receives in a temporary folder.
///
/// Each received message comes back as the raw bytes and as read by Python's e-mail parser, so tests check
/// Kring's MIME output with a parser that is not Kring's own.
public final class SMTPSink: Sendable {
    public enum TLS: String, Sendable { case none, starttls, implicit }

    public struct Options: Sendable {
        public var tls: TLS = .none
        public var requireStartTLS = false
        public var credentials: (user: String, password: String)?
        /// Offer only this AUTH mechanism (`PLAIN` or `LOGIN`).
        public var authOnly: String?
        public var pipelining = false
        /// Offer SMTPUTF8: international addresses (`zoë@...`) are accepted.
        public var smtpUTF8 = false
        /// RCPT TO of these addresses answers with the code (e.g. 451, 550).
        public var rejects: [String: Int] = [:]

        public init() {}
    }

    /// A message as the sink stored it.
    public struct Received: Sendable {
        public struct Part: Sendable {
            public let contentType: String
            public let charset: String?
            public let transferEncoding: String?
            /// The decoded text with line ends as LF.
            public let text: String?
        }

        public let raw: [UInt8]
        public let mailFrom: String
        public let recipients: [String]
        /// The client's port: messages with the same one came over one connection.
        public let peerPort: Int
        public let tls: Bool
        public let login: String?
        public let contentType: String
        /// Decoded header values by lower-cased name.
        public let headers: [String: [String]]
        public let parts: [Part]
        /// Problems Python's parser found in the message.
        public let defects: [String]

        public func header(_ name: String) -> String? { headers[name.lowercased()]?.first }
        public var rawText: String { String(decoding: raw, as: UTF8.self) }
    }

    public let port: Int
    public let folder: URL
    /// The sink's self-signed certificate (PEM), to trust in the client; nil without TLS.
    public let certificateFile: String?
    private let process: Mutex<(process: Process, input: Pipe)?>

    /// The Python with `aiosmtpd`: `KRING_TEST_PYTHON`, else Debian's `/usr/bin/python3`.
    static var python: String {
        ProcessInfo.processInfo.environment["KRING_TEST_PYTHON"] ?? "/usr/bin/python3"
    }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Deploy/smtp-sink.py")
    }

    private init(port: Int, folder: URL, certificateFile: String?, process: Process, input: Pipe) {
        self.port = port
        self.folder = folder
        self.certificateFile = certificateFile
        self.process = Mutex((process, input))
    }

    public static func start(_ options: Options = Options()) async throws -> SMTPSink {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-smtp-sink-\(UUID().uuidString.prefix(8))")
        let messages = folder.appendingPathComponent("messages")
        try FileManager.default.createDirectory(at: messages, withIntermediateDirectories: true)
        var arguments = [
            script.path, "--dir", messages.path, "--ready-file", folder.appendingPathComponent("port").path, "--tls", options.tls.rawValue,
        ]
        var certificate: String?
        if options.tls != .none {
            let (cert, key) = try await makeCertificate(in: folder)
            certificate = cert
            arguments += ["--cert", cert, "--key", key]
        }
        if options.requireStartTLS { arguments.append("--require-starttls") }
        if let credentials = options.credentials { arguments += ["--auth", "\(credentials.user):\(credentials.password)"] }
        if let only = options.authOnly { arguments += ["--auth-only", only] }
        if options.pipelining { arguments.append("--pipelining") }
        if options.smtpUTF8 { arguments.append("--smtputf8") }
        for (address, code) in options.rejects { arguments += ["--reject", "\(address)=\(code)"] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        // The sink stops by itself when its standard input closes: in `stop()`, or when the test process is gone.
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        let log = folder.appendingPathComponent("sink.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()

        let portFile = folder.appendingPathComponent("port")
        for _ in 0..<300 {  // up to 15 s
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                return SMTPSink(port: port, folder: folder, certificateFile: certificate, process: process, input: input)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw SinkFailed(
            description: "the SMTP sink did not start (is python3-aiosmtpd installed? Deploy/test.sh installs it): \(output.suffix(2000))")
    }

    public struct SinkFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, made with `openssl`.
    private static func makeCertificate(in folder: URL) async throws -> (String, String) {
        let cert = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        openssl.standardInput = FileHandle.nullDevice
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        try await waitForExit(openssl, seconds: 60)
        guard openssl.terminationStatus == 0 else { throw SinkFailed(description: "openssl could not make a certificate") }
        return (cert, key)
    }

    /// Waits for a process to end without blocking a thread (`waitUntilExit` would hold one of the test
    /// runner's few threads).
    public static func waitForExit(_ process: Process, seconds: Int) async throws {
        for _ in 0..<(seconds * 50) where process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            process.terminate()
            throw SinkFailed(description: "\(process.executableURL?.lastPathComponent ?? "a process") did not end within \(seconds) s")
        }
    }

    /// The messages received so far, in order of arrival.
    public func received() throws -> [Received] {
        let messages = folder.appendingPathComponent("messages")
        let files = try FileManager.default.contentsOfDirectory(atPath: messages.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.map { file in
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: messages.appendingPathComponent(file))) as? [String: Any] ?? [:]
            let raw = try Data(contentsOf: messages.appendingPathComponent(file.replacingOccurrences(of: ".json", with: ".eml")))
            let parts = (json["parts"] as? [[String: Any]] ?? []).map { part in
                Received.Part(
                    contentType: part["content_type"] as? String ?? "", charset: part["charset"] as? String,
                    transferEncoding: part["transfer_encoding"] as? String,
                    text: (part["text"] as? String).map { $0.replacingOccurrences(of: "\r\n", with: "\n") })
            }
            return Received(
                raw: Array(raw), mailFrom: json["mail_from"] as? String ?? "", recipients: json["rcpt_tos"] as? [String] ?? [],
                peerPort: (json["peer"] as? [Any])?.last as? Int ?? 0, tls: json["tls"] as? Bool ?? false, login: json["login"] as? String,
                contentType: json["content_type"] as? String ?? "", headers: json["headers"] as? [String: [String]] ?? [:],
                parts: parts, defects: json["defects"] as? [String] ?? [])
        }
    }

    /// The commands the sink handled (`ehlo`, `mail`, `rcpt`, `rset`, `data`), each with the client's port.
    public func events() throws -> [(event: String, peerPort: Int, tls: Bool)] {
        let file = folder.appendingPathComponent("messages/events.jsonl")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["event"] as? String ?? "", (object["peer"] as? [Any])?.last as? Int ?? 0, object["tls"] as? Bool ?? false)
        }
    }

    /// Stops the sink and removes its folder. Does not wait for the process: a blocked thread of the test
    /// runner's small pool would stall every other test.
    public func stop() {
        process.withLock { state in
            guard let (running, input) = state else { return }
            try? input.fileHandleForWriting.close()
            if running.isRunning { running.terminate() }
            state = nil
        }
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }
}
