import Foundation
import KringCampaigns
import Testing

@Suite struct LinkSignerTests {
    let signer = try! LinkSigner(secret: Data((0..<32).map { UInt8($0) }))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aTokenVerifiesOnlyForItsPurposeLibraryAndTime() throws {
        let token = signer.token(.unsubscribe, tenant: "haarlem", subject: "send-1", expires: now + 60)
        #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
        let claims = try signer.verify(token, purpose: .unsubscribe, now: now)
        #expect(claims.tenant == "haarlem" && claims.subject == "send-1")
        #expect(throws: LinkSigner.Failure.wrongPurpose) { try signer.verify(token, purpose: .preferences, now: now) }
        #expect(throws: LinkSigner.Failure.expired) { try signer.verify(token, purpose: .unsubscribe, now: now + 61) }
        // Another library's name in the payload breaks the signature (each library has its own derived key).
        let parts = token.split(separator: ".")
        let payload = String(
            decoding: Data(
                base64Encoded: String(parts[0]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                    .padding(toLength: (parts[0].count + 3) / 4 * 4, withPad: "=", startingAt: 0))!, as: UTF8.self)
        let forged = Data(payload.replacingOccurrences(of: "haarlem", with: "hilversum").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(throws: LinkSigner.Failure.badSignature) { try signer.verify(forged + "." + parts[1], purpose: .unsubscribe, now: now) }
        #expect(throws: LinkSigner.Failure.malformed) { try signer.verify("not-a-token", purpose: .unsubscribe, now: now) }
        let other = try LinkSigner(secret: Data(repeating: 9, count: 32))
        #expect(throws: LinkSigner.Failure.badSignature) { try other.verify(token, purpose: .unsubscribe, now: now) }
    }

    @Test func aClickTokenRedirectsOnlyToTheLinkItSigned() throws {
        let links = PublicLinks(baseURL: "https://kring.example/", signer: signer)
        let send = UUID()
        let url = links.click(tenant: "haarlem", sendID: send, url: "https://www.bibliotheek.nl/agenda?x=1&y=2", now: now)
        #expect(url.hasPrefix("https://kring.example/t/haarlem/c/"))
        let token = String(url.split(separator: "/")[5].split(separator: "?")[0])
        let claims = try signer.verify(token, purpose: .click, now: now)
        #expect(PublicLinks.clickTarget(claims, url: "https://www.bibliotheek.nl/agenda?x=1&y=2")?.sendID == send)
        #expect(PublicLinks.clickTarget(claims, url: "https://evil.example/") == nil)
    }
}
