import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KringAuth
import NIOCore

/// Small JSON helpers for `HummingbirdTesting` clients.
public struct JSONResponse: Sendable {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    public let body: Data

    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public subscript(key: String) -> Any? { json[key] }
}

extension TestClientProtocol {
    public func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: [String: Any]? = nil, rawBody: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> JSONResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let rawBody {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: rawBody)
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
            JSONResponse(status: response.status, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    /// Logs in and answers the access and refresh tokens; fails the test on anything but 200.
    public func login(
        email: String, password: String = TestEnvironment.password, tenant: String?, code: String? = nil
    ) async throws -> (access: String, refresh: String) {
        var body: [String: Any] = ["email": email, "password": password]
        if let tenant { body["tenant"] = tenant }
        if let code { body["totp_code"] = code }
        let response = try await send(.post, "/api/v1/auth/login", json: body)
        guard response.status == .ok, let access = response["access_token"] as? String, let refresh = response["refresh_token"] as? String else {
            throw LoginFailed(status: response.status, body: response.text)
        }
        return (access, refresh)
    }
}

public struct LoginFailed: Error, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let body: String
    public var description: String { "login failed: \(status) \(body)" }
}
