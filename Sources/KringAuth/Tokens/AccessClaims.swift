import Foundation
import JWTKit
import KringCore

/// The claims of a Kring access token. `aud` names the token kind: a tenant staff token and a platform
/// token are never accepted in each other's place.
public struct AccessClaims: JWTPayload, Equatable {
    public enum Audience {
        /// Staff of one library; carries `tid`.
        public static let staff = "kring-staff"
        /// Probiblio platform administrators; no `tid`.
        public static let platform = "kring-platform"
    }

    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var tid: String?
    public var role: String
    public var sid: String
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim

    public init(issuer: String, audience: String, userID: UUID, tenantID: UUID?, role: Role, sessionID: UUID, issuedAt: Date, expiresAt: Date) {
        self.iss = IssuerClaim(value: issuer)
        self.aud = AudienceClaim(value: [audience])
        self.sub = SubjectClaim(value: userID.uuidString.lowercased())
        self.tid = tenantID?.uuidString.lowercased()
        self.role = role.rawValue
        self.sid = sessionID.uuidString.lowercased()
        self.iat = IssuedAtClaim(value: issuedAt)
        self.exp = ExpirationClaim(value: expiresAt)
    }

    /// Issuer, audience and expiry are checked by `TokenKeys.verify` against configuration and the injected clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    public var userID: UUID? { UUID(uuidString: sub.value) }
    public var tenantID: UUID? { tid.flatMap(UUID.init(uuidString:)) }
    public var sessionID: UUID? { UUID(uuidString: sid) }
}
