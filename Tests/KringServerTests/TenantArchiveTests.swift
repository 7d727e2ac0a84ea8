import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringServer
import KringTestSupport
import PostgresNIO
import Testing

/// A library as a unit: exported from one Kring database and imported into another under the same slug, and into the
/// same database under a new slug; every table's rows and checksum match after the round trip, the imported library
/// works through its own role and only its own, and an archive that was changed is refused with nothing kept.
@Suite struct TenantArchiveTests {
    @Test func aLibraryMovesToAnotherDatabaseAndIsRestoredUnderANewSlugWithEveryTableIntact() async throws {
        let from = try await TestEnvironment.forSuite("ArchiveFrom")
        let to = try await TestEnvironment.forSuite("ArchiveTo")
        let library = try await from.createTenant("arch")
        _ = try await DemoLibrary(tenant: TenantSlug("hilversum")!, members: 300).seed(tenant: library, db: from.db, now: Date())
        let erased = try await from.db.withTenant(library) { tx -> UUID in
            let id = try await tx.query("SELECT id FROM customers WHERE email IS NOT NULL ORDER BY id LIMIT 1").decode(UUID.self)
                .first { _ in true }!
            try await CustomerPrivacy.erase(id: id, by: .system, now: Date(), in: tx)
            return id
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kring-archive-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let header = try await TenantArchive.export(library, to: file, owner: from.owner)
        let original = try await TenantArchive.summaries(of: library, owner: from.owner)
        #expect(header.tables == original, "the header holds every table's rows and checksum")
        #expect(header.tables.count > 20 && header.tables.first { $0.name == "customers" }.map { $0.rows > 300 } == true)
        #expect(header.migrations.count == (try from.provisioner).migrator.migrations.tenant.count)

        // Moved to another database (on this cluster under a new slug: a cluster's roles, and so its slugs, are shared).
        let movedSlug = TenantSlug("verhuisd-\(UUID().uuidString.prefix(6).lowercased())")!
        let moved = try await TenantArchive.importArchive(
            file, as: movedSlug, name: nil, now: Date(), owner: to.owner, provisioner: try to.provisioner)
        #expect(moved.tenant.slug == movedSlug && moved.tenant.name == library.name)
        #expect(moved.tables == original)
        #expect(try await TenantArchive.summaries(of: moved.tenant, owner: to.owner) == original)
        // It works through its own role: reads, an erased customer still erased, and new rows after the loaded ones.
        let (customers, stillErased) = try await to.db.withTenant(moved.tenant) { tx in
            (
                try await tx.query("SELECT count(*)::int8 FROM customers").decode(Int.self).first { _ in true } ?? 0,
                try await tx.query("SELECT erased_at IS NOT NULL AND last_name IS NULL FROM customers WHERE id = \(erased)").decode(Bool.self)
                    .first { _ in true } ?? false
            )
        }
        #expect(customers == header.tables.first { $0.name == "customers" }?.rows && stillErased)
        try await to.db.withTenant(moved.tenant) { tx in
            try await TenantAudit.record("test.after_import", subjectType: "test", subjectID: nil, by: .system, at: Date(), in: tx)
        }

        // Restored beside the original under a new slug: equal, and neither library's role reads the other's schema.
        let copySlug = TenantSlug("kopie-\(UUID().uuidString.prefix(6).lowercased())")!
        let copy = try await TenantArchive.importArchive(
            file, as: copySlug, name: "Kopie", now: Date(), owner: from.owner, provisioner: try from.provisioner)
        #expect(copy.tables == original && copy.tenant.name == "Kopie")
        await #expect(throws: PSQLError.self) {
            try await from.db.withTenant(copy.tenant) { tx in
                _ = try await tx.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(library.slug.schema.quoted).customers")).collect()
            }
        }
        let imported = try await from.owner.withPlatform { tx in
            try await tx.query("SELECT count(*)::int8 FROM audit_log WHERE action = 'tenant.imported' AND tenant_id = \(copy.tenant.id)")
                .decode(Int.self).first { _ in true } ?? 0
        }
        #expect(imported == 1)

        // Restored under its own slug after it was deleted (a restore after a mistake, or a move between servers).
        try await from.owner.withPlatform { tx in _ = try await TenantDirectory.setStatus(.suspended, slug: library.slug, now: Date(), in: tx) }
        _ = try await LibraryAdministration.delete(
            slug: library.slug, graceDays: 0, actor: nil, via: "test", now: Date(), owner: from.owner, provisioner: try from.provisioner)
        let restored = try await TenantArchive.importArchive(
            file, as: nil, name: nil, now: Date(), owner: from.owner, provisioner: try from.provisioner)
        #expect(restored.tenant.slug == library.slug && restored.tables == original)

        // A changed archive: a row altered on the way. Refused, and no library is left behind.
        let text = try String(contentsOf: file, encoding: .utf8)
        let changed = try #require(text.range(of: #""first_name":""#))
        var altered = text
        altered.insert(contentsOf: "X", at: changed.upperBound)
        try altered.write(to: file, atomically: true, encoding: .utf8)
        let tamperedSlug = TenantSlug("veranderd-\(UUID().uuidString.prefix(6).lowercased())")!
        await #expect(throws: TenantArchive.ArchiveError.self) {
            _ = try await TenantArchive.importArchive(
                file, as: tamperedSlug, name: nil, now: Date(), owner: from.owner, provisioner: try from.provisioner)
        }
        #expect(try await from.owner.withPlatform { tx in try await TenantDirectory.find(slug: tamperedSlug, in: tx) } == nil)
        let schemas = try await from.owner.withPlatform { tx in
            try await tx.query("SELECT count(*)::int8 FROM pg_namespace WHERE nspname = \(tamperedSlug.schema.name)").decode(Int.self)
                .first { _ in true } ?? -1
        }
        #expect(schemas == 0)
        // Not an archive at all.
        try "hallo\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: TenantArchive.ArchiveError.self) { _ = try TenantArchive.header(of: file) }
    }
}
