import Crypto
import Foundation
import JWTKit
import KringCore

/// The Ed25519 keys that sign and verify access tokens, with `kid` rotation.
///
/// A key folder holds `<kid>.key` (base64 of the 32-byte private key) and `<kid>.pub` (base64 of the public key).
/// The active key signs; every key in the folder verifies, so after a rotation old tokens stay valid
/// until their key is removed.
public struct TokenKeys: Sendable {
    public let activeKID: String
    public let issuer: String
    /// Access-token lifetime; at most 15 minutes.
    public let lifetime: TimeInterval
    private let collection: JWTKeyCollection
    private let kids: Set<String>
    private let verified = VerifiedSignatures()

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(
        privateKeys: [String: Curve25519.Signing.PrivateKey], publicKeys: [String: Curve25519.Signing.PublicKey] = [:],
        activeKID: String, issuer: String = "kring", lifetime: TimeInterval = 900
    ) async throws {
        guard privateKeys[activeKID] != nil else { throw Invalid(description: "active key '\(activeKID)' has no private key") }
        guard lifetime > 0, lifetime <= 900 else { throw Invalid(description: "access tokens live at most 15 minutes") }
        let collection = JWTKeyCollection()
        for (kid, key) in privateKeys {
            await collection.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        }
        for (kid, key) in publicKeys where privateKeys[kid] == nil {
            await collection.add(eddsa: EdDSA.PublicKey(backing: key), kid: JWKIdentifier(string: kid))
        }
        self.collection = collection
        self.kids = Set(privateKeys.keys).union(publicKeys.keys)
        self.activeKID = activeKID
        self.issuer = issuer
        self.lifetime = lifetime
    }

    /// Loads every key of a folder; the active key is `activeKID` or else the last private key by name.
    public static func load(folder: URL, activeKID: String?, issuer: String) async throws -> TokenKeys {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var privateKeys: [String: Curve25519.Signing.PrivateKey] = [:]
        var publicKeys: [String: Curve25519.Signing.PublicKey] = [:]
        for name in names {
            let url = folder.appendingPathComponent(name)
            let text = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let raw = Data(base64Encoded: text) else { throw Invalid(description: "\(name) is not base64") }
            if name.hasSuffix(".key") {
                privateKeys[String(name.dropLast(4))] = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            } else if name.hasSuffix(".pub") {
                publicKeys[String(name.dropLast(4))] = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
            }
        }
        guard let active = activeKID ?? privateKeys.keys.sorted().last else {
            throw Invalid(description: "no private key (*.key) in \(folder.path); run `kring jwt-key generate`")
        }
        return try await TokenKeys(privateKeys: privateKeys, publicKeys: publicKeys, activeKID: active, issuer: issuer)
    }

    /// Writes a new key pair into `folder` as `<kid>.key` (mode 0600) and `<kid>.pub`.
    public static func generate(kid: String, into folder: URL) throws {
        guard kid.range(of: "^[A-Za-z0-9._-]{1,64}$", options: .regularExpression) != nil else {
            throw Invalid(description: "a kid uses letters, digits, '.', '_' or '-'")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let key = Curve25519.Signing.PrivateKey()
        let privateURL = folder.appendingPathComponent("\(kid).key")
        guard !FileManager.default.fileExists(atPath: privateURL.path) else { throw Invalid(description: "\(kid).key exists already") }
        try Data(key.rawRepresentation.base64EncodedString().utf8).write(to: privateURL)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateURL.path)
        try Data(key.publicKey.rawRepresentation.base64EncodedString().utf8)
            .write(to: folder.appendingPathComponent("\(kid).pub"))
    }

    public static let tokenType = "at+jwt"

    public func sign(_ claims: AccessClaims) async throws -> String {
        var header = JWTHeader()
        header.typ = Self.tokenType
        header.alg = "EdDSA"
        return try await collection.sign(claims, kid: JWKIdentifier(string: activeKID), header: header)
    }

    public enum Rejection: Error, Equatable {
        case malformed, wrongAlgorithm, wrongType, unknownKey, badSignature, wrongIssuer, wrongAudience, expired
    }

    /// Verifies signature, header, issuer, audience and expiry. The header is checked before any key is used:
    /// `alg` must be EdDSA (no `none`, no HMAC with a public key as secret) and `kid` must name a key we hold.
    public func verify(_ token: String, audience: String, now: Date) async throws(Rejection) -> AccessClaims {
        let claims = try await verifiedClaims(token)
        guard claims.iss.value == issuer else { throw .wrongIssuer }
        guard claims.aud.value == [audience] else { throw .wrongAudience }
        guard claims.exp.value > now, claims.exp.value.timeIntervalSince(claims.iat.value) <= 900 else { throw .expired }
        return claims
    }

    /// The claims of a token whose header and signature are right. A token is presented on every request of its
    /// quarter of an hour, so its signature is checked once and remembered (Ed25519 verification was a tenth of a
    /// request's time); the checks of issuer, audience and expiry run every time.
    private func verifiedClaims(_ token: String) async throws(Rejection) -> AccessClaims {
        if let claims = verified.claims(of: token) { return claims }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.base64URLDecode(parts[0]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { throw .malformed }
        guard header["alg"] as? String == "EdDSA" else { throw .wrongAlgorithm }
        guard header["typ"] as? String == Self.tokenType else { throw .wrongType }
        guard let kid = header["kid"] as? String, kids.contains(kid) else { throw .unknownKey }
        let claims: AccessClaims
        do {
            claims = try await collection.verify(token, as: AccessClaims.self)
        } catch {
            throw .badSignature
        }
        verified.remember(token, claims)
        return claims
    }

    static func base64URLDecode(_ part: Substring) -> Data? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }
}
