import KringCore
import Testing

@Suite struct IdentifierTests {
    @Test(arguments: ["zuid-kennemerland", "amstelland", "hilversum", "ab", "a1", String(repeating: "a", count: 39)])
    func validSlugs(slug: String) throws {
        let parsed = try #require(TenantSlug(slug))
        #expect(parsed.schema.name == "t_" + slug.replacingOccurrences(of: "-", with: "_"))
        #expect(parsed.role.name == "kring_t_" + slug.replacingOccurrences(of: "-", with: "_"))
    }

    @Test(arguments: [
        "", "a", "1abc", "-abc", "Zuid", "zuid kennemerland", "zuid_kennemerland", "t\"; DROP ROLE x; --", String(repeating: "a", count: 40), "bïb",
    ])
    func invalidSlugs(slug: String) {
        #expect(TenantSlug(slug) == nil)
    }

    @Test func identifiersAreQuotedAndValidated() {
        #expect(SQLIdentifier("t_haarlem")?.quoted == "\"t_haarlem\"")
        #expect(SQLIdentifier("t_Haarlem") == nil)
        #expect(SQLIdentifier("x\"y") == nil)
        #expect(SQLIdentifier(String(repeating: "a", count: 64)) == nil)
    }

    @Test(arguments: [("Jan.Jansen@Example.NL ", "jan.jansen@example.nl"), ("a+tag@b.co", "a+tag@b.co")])
    func emailsAreCanonical(raw: String, canonical: String) {
        #expect(EmailAddress(raw)?.value == canonical)
    }

    @Test(arguments: [
        "", "jan", "jan@", "@example.nl", "jan@example", "jan@@example.nl", "jan jansen@example.nl", "jan@example..nl", ".jan@example.nl",
    ])
    func invalidEmails(raw: String) {
        #expect(EmailAddress(raw) == nil)
    }

    @Test func rolesOfATenantExcludeThePlatformAdmin() {
        #expect(!Role.tenantRoles.contains(.platformAdmin))
        #expect(Role.tenantRoles.count == Role.allCases.count - 1)
    }
}
