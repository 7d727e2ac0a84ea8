import Crypto
import Foundation
import KringAuth
import KringCore
import KringTestSupport
import Testing

/// Every way a forged, stale or misdirected access token must be refused.
@Suite struct AccessTokenTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(audience: String = AccessClaims.Audience.staff, issuedAt: Date? = nil, lifetime: TimeInterval = 900) -> AccessClaims {
        let issued = issuedAt ?? now
        return AccessClaims(
            issuer: "kring-test", audience: audience, userID: UUID(), tenantID: UUID(), role: .marketing,
            sessionID: UUID(), issuedAt: issued, expiresAt: issued.addingTimeInterval(lifetime))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URL(json: [String: Any]) -> String {
        base64URL(try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
    }

    func payloadJSON() -> [String: Any] {
        [
            "iss": "kring-test", "aud": [AccessClaims.Audience.staff], "sub": UUID().uuidString, "tid": UUID().uuidString,
            "role": "tenant_admin", "sid": UUID().uuidString, "iat": now.timeIntervalSince1970, "exp": now.timeIntervalSince1970 + 600,
        ]
    }

    @Test func validTokenVerifies() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let original = claims()
        let token = try await keys.sign(original)
        let verified = try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now.addingTimeInterval(60))
        #expect(verified.sub == original.sub)
        #expect(verified.tid == original.tid)
        #expect(verified.role == "marketing")
    }

    @Test func algNoneIsRejected() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let token = Self.base64URL(json: ["alg": "none", "typ": "at+jwt", "kid": "k1"]) + "." + Self.base64URL(json: payloadJSON()) + "."
        await #expect(throws: TokenKeys.Rejection.wrongAlgorithm) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func hmacSignedWithThePublicKeyIsRejected() async throws {
        let (keys, privateKeys) = try await TestEnvironment.makeKeys()
        // The classic confusion attack: HS256 with the (public) verification key as the HMAC secret.
        let secret = SymmetricKey(data: privateKeys["k1"]!.publicKey.rawRepresentation)
        let signingInput = Self.base64URL(json: ["alg": "HS256", "typ": "at+jwt", "kid": "k1"]) + "." + Self.base64URL(json: payloadJSON())
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: secret)
        let token = signingInput + "." + Self.base64URL(Data(mac))
        await #expect(throws: TokenKeys.Rejection.wrongAlgorithm) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func unknownKidIsRejected() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let (foreign, _) = try await TestEnvironment.makeKeys(kids: ["k9"], active: "k9")
        let token = try await foreign.sign(claims())
        await #expect(throws: TokenKeys.Rejection.unknownKey) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func sameKidWithAnotherKeyFailsTheSignature() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let (impostor, _) = try await TestEnvironment.makeKeys()
        let token = try await impostor.sign(claims())
        await #expect(throws: TokenKeys.Rejection.badSignature) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func tamperedPayloadFailsTheSignature() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let parts = try await keys.sign(claims()).split(separator: ".")
        var payload = payloadJSON()
        payload["role"] = "tenant_admin"
        let token = "\(parts[0]).\(Self.base64URL(json: payload)).\(parts[2])"
        await #expect(throws: TokenKeys.Rejection.badSignature) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func wrongAudienceIsRejected() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let token = try await keys.sign(claims(audience: AccessClaims.Audience.platform))
        await #expect(throws: TokenKeys.Rejection.wrongAudience) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func wrongIssuerIsRejected() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let other = try await TokenKeys(privateKeys: ["k1": key], activeKID: "k1", issuer: "someone-else")
        let ours = try await TokenKeys(privateKeys: ["k1": key], activeKID: "k1", issuer: "kring-test")
        var foreignClaims = claims()
        foreignClaims.iss = .init(value: "someone-else")
        let token = try await other.sign(foreignClaims)
        await #expect(throws: TokenKeys.Rejection.wrongIssuer) { try await ours.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func expiredTokenIsRejected() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let token = try await keys.sign(claims())
        await #expect(throws: TokenKeys.Rejection.expired) {
            try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now.addingTimeInterval(901))
        }
    }

    @Test func tokenLivingLongerThanFifteenMinutesIsRejected() async throws {
        let (keys, _) = try await TestEnvironment.makeKeys()
        let token = try await keys.sign(claims(lifetime: 3600))
        await #expect(throws: TokenKeys.Rejection.expired) { try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now) }
    }

    @Test func lifetimeOverFifteenMinutesCannotBeConfigured() async throws {
        await #expect(throws: TokenKeys.Invalid.self) {
            _ = try await TokenKeys(privateKeys: ["k1": Curve25519.Signing.PrivateKey()], activeKID: "k1", lifetime: 901)
        }
    }

    @Test func rotationKeepsOldKidVerifyingUntilItIsRemoved() async throws {
        let old = Curve25519.Signing.PrivateKey()
        let new = Curve25519.Signing.PrivateKey()
        let before = try await TokenKeys(privateKeys: ["2026-01": old], activeKID: "2026-01", issuer: "kring-test")
        let token = try await before.sign(claims())
        let rotated = try await TokenKeys(privateKeys: ["2026-01": old, "2026-06": new], activeKID: "2026-06", issuer: "kring-test")
        #expect(try await rotated.verify(token, audience: AccessClaims.Audience.staff, now: now).role == "marketing")
        let fresh = try await rotated.sign(claims())
        #expect(fresh.split(separator: ".").first.map { String($0) } != token.split(separator: ".").first.map { String($0) })
        let retired = try await TokenKeys(privateKeys: ["2026-06": new], activeKID: "2026-06", issuer: "kring-test")
        await #expect(throws: TokenKeys.Rejection.unknownKey) { try await retired.verify(token, audience: AccessClaims.Audience.staff, now: now) }
        #expect(try await retired.verify(fresh, audience: AccessClaims.Audience.staff, now: now).role == "marketing")
    }

    @Test func keysLoadFromAFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kring-keys-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TokenKeys.generate(kid: "2026-01", into: folder)
        try TokenKeys.generate(kid: "2026-06", into: folder)
        let keys = try await TokenKeys.load(folder: folder, activeKID: nil, issuer: "kring-test")
        #expect(keys.activeKID == "2026-06")
        let token = try await keys.sign(claims())
        #expect(try await keys.verify(token, audience: AccessClaims.Audience.staff, now: now).iss.value == "kring-test")
        #expect(throws: TokenKeys.Invalid.self) { try TokenKeys.generate(kid: "2026-06", into: folder) }
    }
}
