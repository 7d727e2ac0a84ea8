import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A browser as the web app sees one: it keeps cookies, follows nothing by itself, and posts forms with the
/// form token of the last page it read (or without one, when a test asks).
final class Browser {
    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let html: String

        var location: String? { headers[.location] }
        /// The hidden `_csrf` value of the page's first form.
        var formToken: String? { field("_csrf") }

        /// The value of the first input named `name` (or the text of a textarea), HTML entities decoded.
        func field(_ name: String) -> String? {
            guard let nameRange = html.range(of: "name=\"\(name)\"") else { return nil }
            guard let open = html[..<nameRange.lowerBound].lastIndex(of: "<"), let close = html[nameRange.upperBound...].firstIndex(of: ">") else {
                return nil
            }
            let tag = html[open...close]
            if tag.hasPrefix("<textarea") {
                let rest = html[html.index(after: close)...]
                return rest.range(of: "</textarea>").map { Self.decode(String(rest[..<$0.lowerBound])) }
            }
            guard let value = tag.range(of: " value=\"") else { return nil }
            let rest = tag[value.upperBound...]
            return rest.firstIndex(of: "\"").map { Self.decode(String(rest[..<$0])) }
        }

        static func decode(_ text: String) -> String {
            text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        }

        func contains(_ text: String) -> Bool { html.contains(text) }
    }

    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    var origin: String? = "http://localhost"
    private(set) var lastToken: String?

    init(_ client: any TestClientProtocol) {
        self.client = client
    }

    @discardableResult
    func get(_ path: String) async throws -> Page {
        try await send(.get, path, body: nil)
    }

    /// Posts a form with the last page's form token, unless `token` is given ("" sends none).
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], token: String? = nil, accept: String? = nil) async throws -> Page {
        var all = fields
        let chosen = token ?? lastToken ?? ""
        if !chosen.isEmpty { all.append(("_csrf", chosen)) }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(.post, path, body: body, accept: accept)
    }

    private func send(_ method: HTTPRequest.Method, _ path: String, body: String?, accept: String? = nil) async throws -> Page {
        var headers: HTTPFields = [:]
        if let accept { headers[.accept] = accept }
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if body != nil {
            headers[.contentType] = "application/x-www-form-urlencoded"
            if let origin { headers[.origin] = origin }
        }
        let page = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
        }
        for header in page.headers[values: .setCookie] {
            let pair = header.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = String(pair[0])
            let value = String(pair[1])
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        if let token = page.formToken { lastToken = token }
        return page
    }

    /// Signs in (e-mail, password, library) and answers the page the form led to.
    @discardableResult
    func signIn(_ email: String, password: String, library: String) async throws -> Page {
        try await get("/inloggen")
        return try await post("/inloggen", [("email", email), ("password", password), ("library", library)])
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
