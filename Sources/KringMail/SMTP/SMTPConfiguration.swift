import Foundation

/// Where and how to reach the SMTP relay, read from `KRING_SMTP_URL`:
/// `smtp://user:password@host:port?tls=starttls|implicit|opportunistic|none&ca=/path/roots.pem&helo=name`
/// (`smtps://` means implicit TLS). The password is never part of `description`.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain connection; the password is then never sent.
        case none
        /// STARTTLS, and EHLO again; a relay that does not offer it is not used (the default).
        case starttls
        /// STARTTLS when the relay offers it, else plain.
        case opportunistic
        /// TLS from the first byte (port 465 style).
        case implicit
    }

    public struct Credentials: Sendable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public struct Timeouts: Sendable {
        public var connect: Duration = .seconds(15)
        /// Each reply to a command, the greeting included.
        public var command: Duration = .seconds(60)
        /// The reply after the message's final dot, when the relay may be scanning it.
        public var data: Duration = .seconds(300)

        public init(connect: Duration = .seconds(15), command: Duration = .seconds(60), data: Duration = .seconds(300)) {
            self.connect = connect
            self.command = command
            self.data = data
        }
    }

    public var host: String
    public var port: Int
    public var tls: TLSMode
    public var credentials: Credentials?
    /// PEM file of the certificate authorities to trust instead of the system's (a private relay, tests).
    public var trustRootsFile: String?
    /// The name Kring gives in EHLO.
    public var heloName: String
    public var timeouts: Timeouts
    /// Messages sent over one connection before it is closed and a fresh one opened.
    public var maxMessagesPerConnection: Int

    public init(
        host: String, port: Int? = nil, tls: TLSMode = .starttls, credentials: Credentials? = nil, trustRootsFile: String? = nil,
        heloName: String = "localhost", timeouts: Timeouts = Timeouts(), maxMessagesPerConnection: Int = 100
    ) {
        self.host = host
        self.port = port ?? (tls == .implicit ? 465 : 587)
        self.tls = tls
        self.credentials = credentials
        self.trustRootsFile = trustRootsFile
        self.heloName = heloName
        self.timeouts = timeouts
        self.maxMessagesPerConnection = max(1, maxMessagesPerConnection)
    }

    /// Reads an `smtp://` or `smtps://` URL.
    public init(url string: String) throws(MailError) {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased(), scheme == "smtp" || scheme == "smtps",
            let host = components.host, !host.isEmpty
        else { throw MailError.invalidConfiguration("Give the SMTP relay as smtp://user:password@host:port?tls=starttls (or smtps://).") }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set<String> = ["tls", "ca", "helo", "max_per_connection"]
        if let unknown = query.keys.first(where: { !known.contains($0) }) {
            throw MailError.invalidConfiguration("Unknown SMTP URL parameter \(unknown).")
        }
        var tls: TLSMode = scheme == "smtps" ? .implicit : .starttls
        if let value = query["tls"] {
            guard let mode = TLSMode(rawValue: value) else {
                throw MailError.invalidConfiguration("Use tls=\(TLSMode.allCases.map(\.rawValue).joined(separator: "|")) in the SMTP URL.")
            }
            tls = mode
        }
        var credentials: Credentials?
        if let user = components.user, !user.isEmpty {
            credentials = Credentials(username: user, password: components.password ?? "")
        }
        let maxPerConnection = query["max_per_connection"].flatMap(Int.init) ?? 100
        self.init(
            host: host, port: components.port, tls: tls, credentials: credentials, trustRootsFile: query["ca"],
            heloName: query["helo"] ?? "localhost", maxMessagesPerConnection: maxPerConnection)
    }

    public var description: String {
        let user = credentials.map { "\($0.username):***@" } ?? ""
        return "smtp://\(user)\(host):\(port)?tls=\(tls.rawValue)"
    }
}
