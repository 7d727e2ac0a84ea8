import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase
import Logging
import NIOCore
import PostgresNIO

/// `kring bench import --rows N`: a synthetic member export, imported end to end into a scratch tenant,
/// then imported again unchanged, against PostgreSQL's own COPY of the same rows into a plain table.
struct ImportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Time the member import against COPY.")
    @Option var rows = 100_000

    func run() async throws {
        let env = Environment()
        let logger = env.logger
        let slug = TenantSlug("bench-\(UInt32.random(in: 0...UInt32.max) % 1_000_000)")!
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kring-bench-\(slug).csv")
        let generateStart = ContinuousClock.now
        try SyntheticExport(rows: rows).write(to: file)
        let generated = ContinuousClock.now - generateStart
        let bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        defer { try? FileManager.default.removeItem(at: file) }

        try await env.withOwner { owner in
            let now = Date()
            let tenant = try await owner.withPlatform { tx in
                try await TenantProvisioner(migrator: Migrator(owner: owner, migrations: try MigrationSet.load()))
                    .create(slug: slug, name: "Benchmark", now: now, in: tx)
            }
            do {
                try await owner.withTenant(tenant) { tx in
                    for branch in SyntheticExport.branches {
                        _ = try await Branches.create(BranchDraft(name: branch, municipality: "Haarlem"), by: .system, now: now, in: tx)
                    }
                }
                let first = try await timed { try await MemberImport().run(try FileImportSource(path: file.path), by: .system, now: now, db: owner, tenant: tenant) }
                let second = try await timed { try await MemberImport().run(try FileImportSource(path: file.path), by: .system, now: now, db: owner, tenant: tenant) }
                let copy = try await timedCopy(owner: owner, logger: logger)
                print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
                print("export: \(rows) rows, \(bytes / 1024) KiB, generated in \(seconds(generated)) s")
                print("import 1 (new):       \(seconds(first.1)) s, \(perSecond(rows, first.1)) rows/s: \(first.0.inserted) new, \(first.0.rejected) rejected")
                print("import 2 (unchanged): \(seconds(second.1)) s, \(perSecond(rows, second.1)) rows/s: \(second.0.unchanged) unchanged, \(second.0.updated) changed")
                print("COPY into a plain table: \(seconds(copy)) s, \(perSecond(rows, copy)) rows/s; import 1 takes \(String(format: "%.1f", ratio(first.1, copy)))x COPY")
                print("peak memory (max RSS of this process): \(Self.peakRSSMegabytes()) MB")
            } catch {
                try? await dropTenant(tenant, owner: owner, logger: logger)
                throw error
            }
            try await dropTenant(tenant, owner: owner, logger: logger)
        }
    }

    private func timed<T>(_ body: () async throws -> T) async throws -> (T, Duration) {
        let start = ContinuousClock.now
        let value = try await body()
        return (value, ContinuousClock.now - start)
    }

    /// COPY of the same synthetic rows (text format) into an unindexed table of text columns.
    private func timedCopy(owner: Database, logger: Logger) async throws -> Duration {
        try await owner.withConnection { connection in
            try await connection.query("CREATE TEMPORARY TABLE bench_copy (\(unescaped: SyntheticExport.header.indices.map { "c\($0) text" }.joined(separator: ", ")))", logger: logger)
            let start = ContinuousClock.now
            try await connection.copyFrom(table: "bench_copy", logger: logger) { writer in
                var buffer = ByteBuffer()
                for row in SyntheticExport(rows: rows).makeRows() {
                    buffer.writeString(row.joined(separator: "\t"))
                    buffer.writeString("\n")
                    if buffer.readableBytes > 1 << 16 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
            let elapsed = ContinuousClock.now - start
            try await connection.query("DROP TABLE bench_copy", logger: logger)
            return elapsed
        }
    }

    private func dropTenant(_ tenant: Tenant, owner: Database, logger: Logger) async throws {
        try await owner.withPlatform { tx in
            try await tx.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(tenant.slug.schema.quoted) CASCADE"))
            try await tx.query("DELETE FROM schema_migrations WHERE schema_name = \(tenant.slug.schema.name)")
            try await tx.query("DELETE FROM tenants WHERE id = \(tenant.id)")
            try await tx.query(PostgresQuery(unsafeSQL: "DROP ROLE \(tenant.slug.role.quoted)"))
        }
    }

    private func seconds(_ duration: Duration) -> String { String(format: "%.2f", Self.seconds(duration)) }
    private func perSecond(_ count: Int, _ duration: Duration) -> String { String(Int(Double(count) / max(Self.seconds(duration), 0.000_001))) }
    private func ratio(_ a: Duration, _ b: Duration) -> Double { Self.seconds(a) / max(Self.seconds(b), 0.000_001) }
    static func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

    static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024
    }
}

/// A deterministic member export in the default mapping's columns: Dutch names, Haarlem-area postcodes,
/// the member-type mix of the background figures, loan signals. No real persons.
struct SyntheticExport {
    let rows: Int

    static let header = ["Lenernummer", "Lenerscategorie", "Status", "Inschrijfdatum", "Voornaam", "Tussenvoegsel", "Achternaam",
                         "Geboortedatum", "E-mail", "Telefoon", "Postcode", "Huisnummer", "Straat", "Woonplaats", "Gemeente", "Vestiging",
                         "Genres", "Laatste uitlening", "Uitleningen 12 maanden", "Uitleningen totaal"]
    static let branches = ["Haarlem Centrum", "Haarlem Noord", "Haarlem Oost", "Haarlem Schalkwijk", "Bloemendaal", "Zandvoort", "Hillegom"]
    static let firstNames = ["Anna", "Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Finn", "Sophie", "Noah", "Zoë", "Fatima", "Mohamed", "Sanne", "Pieter"]
    static let lastNames = ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer", "El Amrani", "Yilmaz"]
    static let streets = ["Grote Houtstraat", "Zijlweg", "Kleverparkweg", "Amsterdamstraat", "Rijksstraatweg", "Kennemerweg"]
    static let genres = ["thrillers", "history", "literature", "youth", "comics", "travel", "cooking", "science"]

    /// LCG, so every run writes the same file.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    func makeRows() -> some Sequence<[String]> {
        var random = Random(state: 42)
        return (0..<rows).lazy.map { index -> [String] in
            let youth = random.next(100) < 58
            let type = youth ? "Jeugd" : ["Volwassene", "Volwassene", "Volwassene", "NT2", "Vriend", "Bibliotheek aan huis"][random.next(6)]
            let birthYear = youth ? 2008 + random.next(18) : 1940 + random.next(66)
            let first = Self.firstNames[random.next(Self.firstNames.count)]
            let last = Self.lastNames[random.next(Self.lastNames.count)]
            let parts = last.split(separator: " ")
            let (infix, surname) = parts.count > 1 ? (parts.dropLast().joined(separator: " "), String(parts.last ?? "")) : ("", last)
            let neverBorrowed = random.next(1000) < 62
            let loans12m = neverBorrowed ? 0 : random.next(youth ? 17 : 36)
            return [
                String(1_000_000 + index), type, "Actief",
                String(format: "%02d-%02d-%04d", 1 + random.next(28), 1 + random.next(12), max(birthYear + 4, 1990 + random.next(36))),
                first, infix, surname, String(format: "%02d-%02d-%04d", 1 + random.next(28), 1 + random.next(12), birthYear),
                youth || random.next(10) < 3 ? "" : "\(first.lowercased().filter(\.isLetter)).\(index)@example.nl",
                random.next(3) == 0 ? "" : "06-\(10_000_000 + random.next(89_999_999))",
                String(format: "20%02d %@", 11 + random.next(27), ["AB", "CD", "EF", "GH", "JK", "LM"][random.next(6)]),
                String(1 + random.next(250)), Self.streets[random.next(Self.streets.count)], "Haarlem", "Haarlem",
                Self.branches[random.next(Self.branches.count)],
                "\(Self.genres[random.next(Self.genres.count)])|\(Self.genres[random.next(Self.genres.count)])",
                neverBorrowed ? "" : String(format: "%02d-%02d-20%02d", 1 + random.next(28), 1 + random.next(10), 20 + random.next(6)),
                String(loans12m), String(loans12m + random.next(400)),
            ]
        }
    }

    func write(to url: URL) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = Self.header.joined(separator: ";") + "\r\n"
        for row in makeRows() {
            buffer += row.joined(separator: ";")
            buffer += "\r\n"
            if buffer.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
    }
}
