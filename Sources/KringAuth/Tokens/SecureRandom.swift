import Crypto
import Foundation

/// Random secrets for tokens and keys, from the system's CSPRNG.
public enum SecureRandom {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in generator.next() }
    }

    static func hex(_ byteCount: Int) -> String {
        bytes(byteCount).map { String(format: "%02x", $0) }.joined()
    }

    /// URL-safe base64 without padding.
    public static func token(_ byteCount: Int) -> String {
        Data(bytes(byteCount)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// As `Data`, which PostgresNIO binds as `bytea`.
    static func sha256(_ text: String) -> Data {
        Data(SHA256.hash(data: Data(text.utf8)))
    }

    static func sha256Hex(_ text: String) -> String {
        sha256(text).map { String(format: "%02x", $0) }.joined()
    }
}
