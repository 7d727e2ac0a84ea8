import Hummingbird
import HummingbirdAuth
import KringAuth
import KringCore

/// Reads `Authorization: Bearer <token>` (an access JWT or an API key) and sets the context's principal.
///
/// A request without the header goes on unauthenticated (routes that need a principal answer 401);
/// a request with a bad credential stops here with 401.
struct BearerAuthenticator: AuthenticatorMiddleware {
    typealias Context = KringRequestContext
    let authentication: Authentication

    func authenticate(request: Request, context: Context) async throws -> Principal? {
        guard let header = request.headers[.authorization] else { return nil }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Problem.unauthorized("Use 'Authorization: Bearer <token>'.")
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        return try await authentication.authenticate(bearer: token, address: context.clientAddress)
    }
}
