import Foundation
import Hummingbird
import HummingbirdAuth
import KringAuth
import KringCore
import KringDatabase
import NIOCore

/// The per-request context: the authenticated principal, the client's address and the request id.
public struct KringRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Principal?
    public var clientAddress: String?
    public var requestID: String
    /// The staff web app's browser session, when the request came with its cookie.
    public var browserSession: BrowserSession?
    /// For a web page: the signed-in person's task reminders that fell due (the badge at "Mijn taken"), when their
    /// role reads relations.
    public var dueReminders: Int?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.clientAddress = source.channel.remoteAddress?.ipAddress
        self.requestID = UUID().uuidString.lowercased()
        self.browserSession = nil
        self.dueReminders = nil
    }

    public var responseEncoder: some ResponseEncoder { JSON.encoder }

    /// The principal if it may do `permission`; 401 without a credential, 403 when the role or scopes fall short.
    public func require(_ permission: Permission) throws -> Principal {
        guard let principal = identity else { throw Problem.unauthorized() }
        guard principal.allows(permission) else { throw Problem.forbidden() }
        return principal
    }

    /// As `require`, for routes that act inside the principal's library; the tenant comes only from the credential.
    public func requireTenant(_ permission: Permission) throws -> (Principal, Tenant) {
        let principal = try require(permission)
        guard let tenant = principal.tenant else { throw Problem.forbidden("This route works inside a library.") }
        return (principal, tenant)
    }
}

enum JSON {
    static let encoder = KringJSONEncoder()

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension Request {
    /// Decodes a JSON body with a size limit: too large is 413, malformed JSON is 400 with where it failed.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await jsonBody(limit: limit)
        do {
            return try JSON.decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw Problem.badRequest(
                error.explanation.detail, errors: error.explanation.field.map { [FieldError(field: $0, message: error.explanation.detail)] })
        }
    }

    /// Reads a body that must be one JSON object, for routes that read its fields by hand.
    func jsonObject(limit: Int) async throws -> [String: Any] {
        let buffer = try await jsonBody(limit: limit)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw Problem.badRequest("The body is not a JSON object.")
        }
        return object
    }

    /// The body, at most `limit` bytes (413 past it), with no NUL in its strings (400 naming the field).
    private func jsonBody(limit: Int) async throws -> ByteBuffer {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch {
            throw Problem.tooLarge("The request body is larger than \(limit) bytes.")
        }
        try NULGuard.checkJSON(buffer.readableBytesView)
        return buffer
    }
}

extension DecodingError {
    /// Where decoding failed and why, without echoing the value (it may be personal data).
    var explanation: (field: String?, detail: String) {
        func path(_ codingPath: [any CodingKey]) -> String? {
            let parts = codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            guard !parts.isEmpty else { return nil }
            return parts.reduce("") { $0.isEmpty ? $1 : ($1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1) }
        }
        switch self {
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return (nil, "The body is not valid JSON" + (underlying.map { ": \($0)" } ?? "."))
            }
            return (path(context.codingPath), "Invalid value: \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key]) ?? key.stringValue
            return (full, "Missing field '\(full)'.")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "Expected \(Self.jsonName(type)) at '\(path(context.codingPath) ?? "(root)")'.")
        case .valueNotFound(let type, let context):
            return (path(context.codingPath), "Expected \(Self.jsonName(type)) at '\(path(context.codingPath) ?? "(root)")', found null.")
        @unknown default:
            return (nil, "The body could not be read.")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

/// Keyset pagination: `?limit=&after=`.
struct Page {
    static let defaultLimit = 50
    static let maximumLimit = 200

    let limit: Int
    let after: String?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            guard let value = Int(String(raw)), (1...Self.maximumLimit).contains(value) else {
                throw Problem.badRequest(
                    "limit must be a whole number from 1 to \(Self.maximumLimit).",
                    errors: [FieldError(field: "limit", message: "Use 1 to \(Self.maximumLimit).")])
            }
            limit = value
        } else {
            limit = Self.defaultLimit
        }
        after = query["after"].map(String.init)
    }
}

/// A page of items and the cursor for the next one (`null` on the last page).
struct PageResponse<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    let items: [Item]
    let nextAfter: String?

    enum CodingKeys: String, CodingKey { case items, nextAfter }

    /// `next_after` is always present, `null` on the last page.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextAfter, forKey: .nextAfter)
    }
}
