import Foundation
import Hummingbird
import KringCore
import KringDatabase
import Logging
import PostgresNIO

/// Turns every error into `application/problem+json`, stamps the request id, and logs one line per request.
///
/// Logs carry the method, route pattern, status and duration: never bodies, query strings, tokens or personal data.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = KringRequestContext
    let trustForwardedFor: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let given = request.headers[.init("X-Request-ID")!], given.count <= 64,
           given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            context.requestID = given
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        if trustForwardedFor, let forwarded = request.headers[.init("X-Forwarded-For")!],
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
            context.clientAddress = last
        }
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.response(for: error, logger: context.logger)
        }
        response.headers[.init("X-Request-ID")!] = context.requestID
        let elapsed = ContinuousClock.now - start
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(response.status.code),
            "ms": .stringConvertible(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000),
        ])
        return response
    }

    static func response(for error: any Error, logger: Logger) -> Response {
        let problem: Problem
        switch error {
        case let convertible as any ProblemConvertible:
            problem = convertible.problem
            if problem.status >= 500 { logger.error("request failed", metadata: ["error": "\(type(of: error))"]) }
        case let http as HTTPError:
            problem = switch http.status {
            case .notFound: .notFound("No route matches this path.")
            case .contentTooLarge: .tooLarge(http.body ?? "The request body is too large.")
            case .methodNotAllowed: Problem(status: 405, type: "https://kring.nl/problems/method-not-allowed", title: "Method not allowed")
            case .unauthorized: .unauthorized()
            default: Problem(status: Int(http.status.code), type: "about:blank", title: http.status.reasonPhrase, detail: http.body)
            }
        case let psql as PSQLError:
            // The server's message and code only: PSQLError's full description carries the query's bind values.
            logger.error("database error", metadata: [
                "sqlstate": "\(psql.serverInfo?[.sqlState] ?? "-")", "message": "\(Migrator.describe(psql))",
            ])
            problem = psql.serverInfo?[.sqlState] == "23505" ? .conflict("This conflicts with an existing record.") : .internalError()
        default:
            logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            problem = .internalError()
        }
        return problemResponse(problem)
    }

    static func problemResponse(_ problem: Problem) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = (try? JSON.encoder.encode(problem)) ?? Data()
        return Response(status: .init(code: problem.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
