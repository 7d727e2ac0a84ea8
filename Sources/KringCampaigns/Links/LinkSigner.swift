import Crypto
import Foundation
import Synchronization

/// Signs and checks the tokens in public links (double opt-in, unsubscribe, preference centre, evaluation, tracking).
///
/// A token names its purpose, its library and its subject (a send, a customer, a consent) and carries an
/// HMAC-SHA256 under a key derived per library from the platform secret. A token made for one purpose or one
/// library does not verify for another, and nothing in it can be changed without the key.
public struct LinkSigner: Sendable {
    public enum Purpose: String, Sendable, CaseIterable {
        /// Double opt-in confirmation; subject: the consent row id of the pending sign-up.
        case confirm
        /// One-click unsubscribe (RFC 8058) and its confirmation page; subject: the send id.
        case unsubscribe
        /// The preference centre; subject: the customer id.
        case preferences
        /// The evaluation form of an activity the customer attended; subject: the registration id.
        case evaluate
        /// The open pixel; subject: the send id.
        case open
        /// A click redirect; subject: the send id and the index of the link in the mail.
        case click
    }

    /// What a verified token says.
    public struct Claims: Sendable, Equatable {
        public let purpose: Purpose
        public let tenant: String
        public let subject: String
        public let expires: Date
    }

    public enum Failure: Error, Equatable {
        case malformed, badSignature, wrongPurpose, expired
    }

    private let secret: SymmetricKey
    /// Derived keys by library: a campaign signs several links per mail.
    private let keys = KeyCache()

    final class KeyCache: Sendable {
        let keys = Mutex<[String: SymmetricKey]>([:])
    }

    /// `secret` is the platform's link secret (`KRING_LINK_SECRET_FILE`), at least 32 bytes.
    public init(secret: Data) throws {
        guard secret.count >= 32 else { throw Failure.malformed }
        self.secret = SymmetricKey(data: secret)
    }

    private func key(for tenant: String) -> SymmetricKey {
        if let key = keys.keys.withLock({ $0[tenant] }) { return key }
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: secret, info: Data("kring-link:\(tenant)".utf8), outputByteCount: 32)
        keys.keys.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[tenant] = key
        }
        return key
    }

    /// A token for `subject`; `subject` must not contain `|`.
    public func token(_ purpose: Purpose, tenant: String, subject: String, expires: Date) -> String {
        precondition(!subject.contains("|") && !tenant.contains("|"))
        let payload = "v1|\(purpose.rawValue)|\(tenant)|\(subject)|\(Int64(expires.timeIntervalSince1970))"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key(for: tenant))
        return Self.base64url(Data(payload.utf8)) + "." + Self.base64url(Data(mac))
    }

    /// The claims of `token` if it is intact, made for `purpose` and not expired at `now`.
    public func verify(_ token: String, purpose: Purpose, now: Date) throws(Failure) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payloadData = Self.decode(parts[0]), let mac = Self.decode(parts[1]),
            let payload = String(data: payloadData, encoding: .utf8)
        else { throw .malformed }
        let fields = payload.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5, fields[0] == "v1", let found = Purpose(rawValue: fields[1]), let epoch = Int64(fields[4])
        else { throw .malformed }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payloadData, using: key(for: fields[2])) else {
            throw .badSignature
        }
        guard found == purpose else { throw .wrongPurpose }
        let expires = Date(timeIntervalSince1970: TimeInterval(epoch))
        guard expires > now else { throw .expired }
        return Claims(purpose: found, tenant: fields[2], subject: fields[3], expires: expires)
    }

    static func base64url(_ data: Data) -> String {
        // Byte-wise: Foundation's replacingOccurrences is slow on Linux, and every mail signs several links.
        var bytes = Array(data.base64EncodedString().utf8)
        bytes.removeAll { $0 == UInt8(ascii: "=") }
        for index in bytes.indices {
            if bytes[index] == UInt8(ascii: "+") {
                bytes[index] = UInt8(ascii: "-")
            } else if bytes[index] == UInt8(ascii: "/") {
                bytes[index] = UInt8(ascii: "_")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base)
    }
}
