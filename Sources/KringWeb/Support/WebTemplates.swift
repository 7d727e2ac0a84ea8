import Foundation
import Hummingbird
import KringDatabase
import Mustache

/// The web app's face, read once at start-up from `Admin/` (or `KRING_ADMIN_DIR`): Mustache templates below
/// `templates/` and the files below `static/` (one stylesheet, one script, images).
public struct WebTemplates: Sendable {
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    struct StaticFile: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        let etag: String
    }

    let library: MustacheLibrary
    let files: [String: StaticFile]

    /// Loads from `directory`, or the `Admin` folder found beside the working directory or the sources.
    public init(directory: URL? = nil) async throws {
        let override = ProcessInfo.processInfo.environment["KRING_ADMIN_DIR"]
        guard let root = directory ?? ProjectFiles.locate("Admin", override: override) else {
            throw LoadError(description: "The Admin folder (the web app's templates) was not found; set KRING_ADMIN_DIR")
        }
        let templates = root.appendingPathComponent("templates")
        guard FileManager.default.fileExists(atPath: templates.appendingPathComponent("layout.mustache").path) else {
            throw LoadError(description: "\(templates.path) has no layout.mustache; set KRING_ADMIN_DIR to Kring's Admin folder")
        }
        library = try await MustacheLibrary(directory: templates.path)
        var files: [String: StaticFile] = [:]
        let staticFolder = root.appendingPathComponent("static")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: staticFolder.path)) ?? [] {
            let type: String? =
                switch (name as NSString).pathExtension {
                case "css": "text/css; charset=utf-8"
                case "js": "text/javascript; charset=utf-8"
                case "svg": "image/svg+xml"
                case "png": "image/png"
                case "ico": "image/x-icon"
                default: nil
                }
            guard let type, let data = FileManager.default.contents(atPath: staticFolder.appendingPathComponent(name).path) else { continue }
            let digest = data.reduce(into: UInt64(14_695_981_039_346_656_037)) { $0 = ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
            files[name] = StaticFile(bytes: ByteBuffer(bytes: data), contentType: type, etag: "\"\(String(digest, radix: 16))\"")
        }
        self.files = files
    }

    /// Renders a page template with its model; a template that is missing is a programming error (500).
    func render(_ template: String, _ model: Any) throws -> String {
        guard let html = library.render(model, withTemplate: template) else {
            throw LoadError(description: "No template \(template)")
        }
        return html
    }
}
