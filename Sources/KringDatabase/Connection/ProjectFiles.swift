import Foundation

/// Finds files that ship beside the binary rather than inside it: `Migrations/` and `openapi.yaml`.
///
/// Order: an explicit path from the environment, the working directory, then the source checkout this
/// binary was built from (so `swift run` and `swift test` work from any folder).
public enum ProjectFiles {
    public static func locate(_ relativePath: String, override: String? = nil) -> URL? {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let override, !override.isEmpty { candidates.append(URL(fileURLWithPath: override)) }
        candidates.append(URL(fileURLWithPath: fileManager.currentDirectoryPath).appendingPathComponent(relativePath))
        // Sources/KringDatabase/Connection/ProjectFiles.swift -> repository root
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(relativePath))
        return candidates.first { fileManager.fileExists(atPath: $0.path) }
    }
}
