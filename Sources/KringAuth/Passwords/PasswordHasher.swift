import Crypto
import Foundation
import KringCore
import NIOPosix
import _CryptoExtras

/// scrypt password hashing in a self-describing string: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64).
///
/// The parameters travel with each hash, so they can be raised later and old hashes still verify
/// (`needsRehash` tells when to upgrade at the next login). Hashing runs on a dedicated thread pool,
/// never on the event loop or Swift's cooperative pool; its size bounds how many hashes run at once.
public final class PasswordHasher: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// log2 of scrypt's N (cost).
        public var logN: Int
        public var r: Int
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// N=2^15, r=8, p=1: 32 MiB and tens of milliseconds per hash (OWASP's scrypt minimum is N=2^17 at r=8, p=1 with
        /// 128 MiB; 2^15 keeps a 2-core server responsive, and the string lets it grow).
        public static let production = Parameters(logN: 15, r: 8, p: 1)
        /// Cheap parameters for tests only.
        public static let testing = Parameters(logN: 4, r: 8, p: 1)
    }

    public let parameters: Parameters
    private let pool: NIOThreadPool
    /// A hash to verify against when the account does not exist, so that answer takes as long as any other.
    private let decoy: String

    public init(parameters: Parameters = .production, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.parameters = parameters
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.pool.start()
        self.decoy = (try? Self.hashSync("kring-decoy-password", parameters: parameters)) ?? ""
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await pool.runIfActive { try Self.hashSync(password, parameters: parameters) }
    }

    /// Verifies `password` against `encoded`; with no stored hash, spends the same effort and answers false.
    public func verify(_ password: String, against encoded: String?) async -> Bool {
        let target = encoded ?? decoy
        let result = (try? await pool.runIfActive { Self.verifySync(password, encoded: target) }) ?? false
        return encoded != nil && result
    }

    public func needsRehash(_ encoded: String) -> Bool {
        guard let parsed = Self.parse(encoded) else { return true }
        return parsed.parameters.logN < parameters.logN || parsed.parameters.r < parameters.r || parsed.parameters.p < parameters.p
    }

    static func hashSync(_ password: String, parameters: Parameters) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let key = try derive(password, salt: salt, parameters: parameters)
        return
            "$scrypt$ln=\(parameters.logN),r=\(parameters.r),p=\(parameters.p)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    static func verifySync(_ password: String, encoded: String) -> Bool {
        guard let parsed = parse(encoded),
            let key = try? derive(password, salt: parsed.salt, parameters: parsed.parameters)
        else { return false }
        return constantTimeEqual(key, parsed.hash)
    }

    private static func derive(_ password: String, salt: [UInt8], parameters: Parameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: 1 << parameters.logN, blockSize: parameters.r, parallelism: parameters.p)
        return key.withUnsafeBytes { Array($0) }
    }

    private static func parse(_ encoded: String) -> (parameters: Parameters, salt: [UInt8], hash: [UInt8])? {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var values: [String: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let value = Int(kv[1]) else { return nil }
            values[String(kv[0])] = value
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"],
            (1...24).contains(logN), (1...32).contains(r), (1...16).contains(p),
            let salt = Data(base64Encoded: String(parts[3])), let hash = Data(base64Encoded: String(parts[4]))
        else { return nil }
        return (Parameters(logN: logN, r: r, p: p), Array(salt), Array(hash))
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}

/// Length rules for staff passwords (NIST 800-63B: length over composition rules).
public enum PasswordPolicy {
    public static let minimumLength = 12
    public static let maximumLength = 128

    public static func validate(_ password: String, field: String = "password") -> FieldError? {
        let count = password.count
        if count < minimumLength { return FieldError(field: field, message: "Use at least \(minimumLength) characters.") }
        if count > maximumLength { return FieldError(field: field, message: "Use at most \(maximumLength) characters.") }
        return nil
    }
}
