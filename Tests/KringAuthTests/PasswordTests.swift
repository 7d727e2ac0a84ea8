import Foundation
import KringAuth
import Testing

@Suite struct PasswordTests {
    let hasher = PasswordHasher(parameters: .testing, threads: 1)

    @Test func hashIsSelfDescribingAndVerifies() async throws {
        let hash = try await hasher.hash("een lang wachtwoord")
        #expect(hash.hasPrefix("$scrypt$ln=4,r=8,p=1$"))
        #expect(await hasher.verify("een lang wachtwoord", against: hash))
        #expect(await !hasher.verify("een lang wachtwoorD", against: hash))
        #expect(await !hasher.verify("een lang wachtwoord", against: nil))
        #expect(await !hasher.verify("een lang wachtwoord", against: "$scrypt$garbage"))
    }

    @Test func samePasswordHashesDifferently() async throws {
        let first = try await hasher.hash("een lang wachtwoord")
        let second = try await hasher.hash("een lang wachtwoord")
        #expect(first != second)
    }

    @Test func strongerParametersAskForRehashAndOldHashesStillVerify() async throws {
        let old = try await hasher.hash("een lang wachtwoord")
        let stronger = PasswordHasher(parameters: .init(logN: 5, r: 8, p: 1), threads: 1)
        #expect(stronger.needsRehash(old))
        #expect(await stronger.verify("een lang wachtwoord", against: old))
        #expect(!hasher.needsRehash(old))
    }

    @Test(arguments: [
        ("12345678901", false), ("123456789012", true), (String(repeating: "x", count: 128), true), (String(repeating: "x", count: 129), false),
    ])
    func lengthPolicy(password: String, accepted: Bool) {
        #expect((PasswordPolicy.validate(password) == nil) == accepted)
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2]))
    }
}
