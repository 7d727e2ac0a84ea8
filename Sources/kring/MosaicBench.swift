import ArgumentParser
import Foundation
import KringB2C
import KringCore
import KringDatabase
import KringInsight
import Logging
import PostgresNIO

/// `kring bench mosaic --members N --households H`: in a scratch database, the generated Mosaic files for a province of
/// about H households through the real import, one library (Zuid-Kennemerland's branches and postcodes) with N members
/// living in its service area, then report 2 (members against the area) timed as the page reads it, in one library
/// transaction: for the whole library and for each branch.
struct MosaicBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mosaic", abstract: "Time the Mosaic members report for a large library against a province of generated data.")
    @Option var members = 68_000
    @Option var households = 1_200_000
    @Option(help: "Timed runs of each report.") var runs = 15
    @Flag(help: "Keep the scratch database afterwards.") var keep = false

    func run() async throws {
        let env = Environment()
        let now = Date()
        try await Bench.withScratchDatabase(env, keep: keep) { owner in
            let loadStart = ContinuousClock.now
            let demo = MosaicDemo()
            let (scheme, areas) = (demo.scheme(), demo.areas(households: households))
            let delivery = try await MosaicImport().run(
                scheme: Array(scheme.utf8), areas: Array(areas.utf8), label: "Benchmark (synthetisch)", by: nil, now: now, db: owner)
            let loaded = ContinuousClock.now - loadStart
            guard delivery.rejected == 0 else { throw ValidationError("the generated files had \(delivery.rejected) rejected rows") }

            let tenant = try await owner.withPlatform { tx in
                try await TenantProvisioner.loaded(owner: owner)
                    .create(slug: TenantSlug("bench-mosaic-\(UInt32.random(in: 0...UInt32.max) % 1_000_000)")!, name: "Benchmark", now: now, in: tx)
            }
            let generateStart = ContinuousClock.now
            let branches = try await generate(tenant: tenant, owner: owner, now: now)
            try await settle(tenant: tenant, owner: owner)
            let generated = ContinuousClock.now - generateStart

            var scopes: [(label: String, municipalities: [String]?, branch: UUID?)] = [("whole library (service area)", nil, nil)]
            for branch in branches { scopes.append(("branch \(branch.name) (\(branch.municipality))", [branch.municipality], branch.id)) }
            print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            print(
                "Mosaic delivery: \(delivery.segments) segments, \(delivery.subsegments) subsegments, \(delivery.postcodes) postcodes "
                    + "(\(delivery.areaRows) rows), \(delivery.households) households, \(delivery.inhabitants) inhabitants; "
                    + "loaded through the import in \(String(format: "%.1f", Bench.seconds(loaded))) s")
            var slowest = Duration.zero
            var first = true
            for scope in scopes {
                var times: [Duration] = []
                var report: MosaicMembersReport?
                for run in 0...runs {
                    let (answer, time) = try await timedReport(scope: scope, tenant: tenant, owner: owner)
                    report = answer
                    if run > 0 { times.append(time) }
                }
                guard let report else { continue }
                if first {
                    let counted = report.total.members + report.membersOutside
                    print(
                        "library: \(members) members generated in \(String(format: "%.1f", Bench.seconds(generated))) s; report 2 counts "
                            + "\(counted) current members (\(report.total.members) in the area, \(report.membersOutside) outside or unknown), "
                            + "\(report.total.households) households and \(report.total.inhabitants) inhabitants in the service area")
                    guard counted == members else { throw ValidationError("report 2 counted \(counted) members of \(members)") }
                    first = false
                }
                let median = times.sorted()[times.count / 2]
                slowest = max(slowest, median)
                print(
                    "report 2, \(scope.label): median \(milliseconds(median)) ms (min \(milliseconds(times.min() ?? .zero)), "
                        + "max \(milliseconds(times.max() ?? .zero))) over \(runs) runs; \(report.total.members) members, "
                        + "\(report.subsegments.count) subsegments")
            }
            print("slowest median: \(milliseconds(slowest)) ms (target: at most 300 ms)")
        }
    }

    /// What the page reads for report 2, in one transaction of the library: the delivery, the service area, the branches
    /// and the report; the whole transaction is timed.
    private func timedReport(
        scope: (label: String, municipalities: [String]?, branch: UUID?), tenant: Tenant, owner: Database
    ) async throws -> (MosaicMembersReport, Duration) {
        let start = ContinuousClock.now
        let report = try await owner.withTenant(tenant) { tx in
            guard let delivery = try await MosaicReports.currentDelivery(in: tx) else { throw ValidationError("no current delivery") }
            let area = try await MosaicReports.serviceArea(in: tx)
            _ = try await Branches.list(in: tx)
            return try await MosaicReports.membersAgainstArea(
                municipalities: scope.municipalities ?? area, branchID: scope.branch, delivery: delivery, in: tx)
        }
        return (report, ContinuousClock.now - start)
    }

    /// The profile's branches, and the members: each at a postcode of the service area in the delivery (one in 40
    /// with an unknown postcode, one in 50 without one), its favourite branch one in its own municipality, a third
    /// youth members, three in four borrowing this year, one in ten an activity guest too.
    private func generate(tenant: Tenant, owner: Database, now: Date) async throws -> [Branch] {
        let profile = DemoLibrary(tenant: TenantSlug("zuid-kennemerland")!, members: 0).profile
        let branches = try await owner.withTenant(tenant) { tx in
            var made: [Branch] = []
            for branch in profile.branches {
                made.append(
                    try await Branches.create(BranchDraft(name: branch.name, municipality: branch.municipality), by: .system, now: now, in: tx))
            }
            return made
        }
        let municipalities = Array(Set(profile.branches.map(\.municipality))).sorted()
        let (postcodes, places) = try await owner.withPlatform { tx in
            var postcodes: [String] = []
            var places: [String] = []
            let rows = try await tx.query(
                """
                SELECT p.postcode, p.municipality FROM reference.mosaic_postcodes p JOIN reference.mosaic_deliveries d ON d.id = p.delivery_id
                WHERE d.current AND p.municipality = ANY(\(municipalities)) ORDER BY p.postcode
                """)
            for try await (postcode, municipality) in rows.decode((String, String).self) {
                postcodes.append(postcode)
                places.append(municipality)
            }
            return (postcodes, places)
        }
        guard !postcodes.isEmpty else { throw ValidationError("the generated delivery has no postcode in \(municipalities)") }
        let branchIDs = branches.map(\.id)
        let branchPlaces = branches.map(\.municipality)
        let slice = 20_000
        for start in stride(from: 1, through: members, by: slice) {
            let end = min(members, start + slice - 1)
            try await owner.withTenant(tenant) { tx in
                try await tx.query(
                    """
                    WITH spot AS (
                        SELECT i, CASE WHEN i % 40 = 0 THEN '9999 ZZ' WHEN i % 50 = 1 THEN NULL
                                       ELSE (\(postcodes)::text[])[1 + (i * 7919) % \(postcodes.count)] END AS postcode,
                               (\(places)::text[])[1 + (i * 7919) % \(postcodes.count)] AS municipality
                        FROM generate_series(\(start), \(end)) AS i
                    )
                    INSERT INTO customers (id, roles, member_number, member_type, membership_status, membership_start, first_name, last_name,
                                           postcode, favourite_branch_id, loans_12m, created_at, updated_at)
                    SELECT md5('m' || i)::uuid, CASE WHEN i % 10 = 3 THEN ARRAY['member', 'guest'] ELSE ARRAY['member'] END,
                           (5000000 + i)::text, CASE WHEN i % 3 = 0 THEN 'youth' ELSE 'adult' END, 'active', DATE '2015-01-01' + (i % 3000)::int,
                           'Lid', 'Nummer ' || i, postcode,
                           (SELECT b.id FROM unnest(\(branchIDs)::uuid[], \(branchPlaces)::text[]) WITH ORDINALITY AS b (id, municipality, n)
                            WHERE b.municipality = spot.municipality ORDER BY md5(b.n::text || '-' || i::text) LIMIT 1),
                           CASE WHEN i % 4 = 0 THEN 0 ELSE 1 + i % 30 END, \(now), \(now)
                    FROM spot
                    """)
            }
        }
        return branches
    }

    /// Statistics for the new rows, as autovacuum would leave them.
    private func settle(tenant: Tenant, owner: Database) async throws {
        let logger = Logger(label: "kring.bench")
        try await owner.withConnection { connection in
            let tables = ["\(tenant.slug.schema.quoted).customers", "reference.mosaic_postcodes", "reference.mosaic_areas"]
            _ = try await connection.query(PostgresQuery(unsafeSQL: "VACUUM (ANALYZE) " + tables.joined(separator: ", ")), logger: logger).collect()
        }
    }

    private func milliseconds(_ duration: Duration) -> String { String(format: "%.1f", Bench.seconds(duration) * 1000) }
}
