import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase
import Logging
import NIOCore
import PostgresNIO

/// `kring bench import --rows N`: a synthetic member export (the demo generator), imported end to end into a scratch tenant,
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
        let today = CalendarDate(Date())
        let demo = DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: rows)
        try demo.writeExport(to: file, today: today)
        let generated = ContinuousClock.now - generateStart
        let bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        defer { try? FileManager.default.removeItem(at: file) }

        try await Bench.withScratchDatabase(env) { owner in
            let now = Date()
            let tenant = try await owner.withPlatform { tx in
                try await TenantProvisioner.loaded(owner: owner)
                    .create(slug: slug, name: "Benchmark", now: now, in: tx)
            }
            try await owner.withTenant(tenant) { tx in
                for branch in demo.profile.branches {
                    _ = try await Branches.create(BranchDraft(name: branch.name, municipality: branch.municipality), by: .system, now: now, in: tx)
                }
            }
            let first = try await timed {
                try await MemberImport().run(try FileImportSource(path: file.path), by: .system, now: now, db: owner, tenant: tenant)
            }
            let second = try await timed {
                try await MemberImport().run(try FileImportSource(path: file.path), by: .system, now: now, db: owner, tenant: tenant)
            }
            let copy = try await timedCopy(demo.rows(today: today), owner: owner, logger: logger)
            print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            print("export: \(rows) rows, \(bytes / 1024) KiB, generated in \(seconds(generated)) s")
            print(
                "import 1 (new):       \(seconds(first.1)) s, \(perSecond(rows, first.1)) rows/s: \(first.0.inserted) new, \(first.0.rejected) rejected"
            )
            print(
                "import 2 (unchanged): \(seconds(second.1)) s, \(perSecond(rows, second.1)) rows/s: \(second.0.unchanged) unchanged, \(second.0.updated) changed"
            )
            print(
                "COPY into a plain table: \(seconds(copy)) s, \(perSecond(rows, copy)) rows/s; import 1 takes \(String(format: "%.1f", ratio(first.1, copy)))x COPY"
            )
            print("peak memory (max RSS of this process): \(Self.peakRSSMegabytes()) MB")
        }
    }

    private func timed<T>(_ body: () async throws -> T) async throws -> (T, Duration) {
        let start = ContinuousClock.now
        let value = try await body()
        return (value, ContinuousClock.now - start)
    }

    /// COPY of the same synthetic rows (text format) into an unindexed table of text columns. The rows are encoded
    /// before the clock starts, so only PostgreSQL's COPY is timed.
    private func timedCopy(_ rows: some Sequence<[String]>, owner: Database, logger: Logger) async throws -> Duration {
        var chunks: [ByteBuffer] = []
        var buffer = ByteBuffer()
        for row in rows {
            buffer.writeString(row.joined(separator: "\t"))
            buffer.writeString("\n")
            if buffer.readableBytes > 1 << 16 {
                chunks.append(buffer)
                buffer = ByteBuffer()
            }
        }
        if buffer.readableBytes > 0 { chunks.append(buffer) }
        return try await owner.withConnection { connection in
            try await connection.query(
                "CREATE TEMPORARY TABLE bench_copy (\(unescaped: DemoLibrary.columnIndices.map { "c\($0) text" }.joined(separator: ", ")))",
                logger: logger)
            let start = ContinuousClock.now
            try await connection.copyFrom(table: "bench_copy", logger: logger) { writer in
                for chunk in chunks { try await writer.write(chunk) }
            }
            let elapsed = ContinuousClock.now - start
            try await connection.query("DROP TABLE bench_copy", logger: logger)
            return elapsed
        }
    }

    private func seconds(_ duration: Duration) -> String { String(format: "%.2f", Self.seconds(duration)) }
    private func perSecond(_ count: Int, _ duration: Duration) -> String { String(Int(Double(count) / max(Self.seconds(duration), 0.000_001))) }
    private func ratio(_ a: Duration, _ b: Duration) -> Double { Self.seconds(a) / max(Self.seconds(b), 0.000_001) }
    static func seconds(_ duration: Duration) -> Double { Bench.seconds(duration) }

    static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024
    }
}
