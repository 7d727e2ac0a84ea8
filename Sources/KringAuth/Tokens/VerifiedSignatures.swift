import Synchronization

/// Access tokens whose signature was verified, with their claims, so a token is verified once rather than on every
/// request. Holds at most `capacity` tokens; when full it forgets them all (they are verified again on next use).
/// Only a token that verified is ever stored, under its full text, so a changed token is never found here.
final class VerifiedSignatures: Sendable {
    private let tokens = Mutex<[String: AccessClaims]>([:])
    private let capacity: Int

    init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    func claims(of token: String) -> AccessClaims? {
        tokens.withLock { $0[token] }
    }

    func remember(_ token: String, _ claims: AccessClaims) {
        tokens.withLock { tokens in
            if tokens.count >= capacity { tokens.removeAll(keepingCapacity: true) }
            tokens[token] = claims
        }
    }
}
