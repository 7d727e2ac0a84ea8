import ArgumentParser
import Foundation
import KringCore
import KringDatabase
import KringInsight

/// `kring mosaic import` loads a Mosaic delivery for every library; `kring mosaic demo` writes (or loads) the generated
/// files with invented names that the demo and the tests use.
struct MosaicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mosaic", abstract: "Mosaic reference data: load a delivery, or the generated demo data.",
        subcommands: [Import.self, Demo.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Load the scheme and area files as the current delivery for all libraries (bad rows reported, the same files twice change nothing).")
        @Option(help: "The scheme file (CSV): a row per subsegment with its segment.") var scheme: String
        @Option(help: "The area file (CSV): households and inhabitants per postcode and subsegment.") var areas: String
        @Option(help: "The delivery's name, e.g. \"Mosaic 2026\".") var label: String
        @Option(help: "A JSON column mapping; default: Dutch headers (Segment, Subsegment, Postcode, Gemeente, Huishoudens, Inwoners).")
        var mapping: String?
        @Flag(help: "Report what would be loaded, load nothing.") var dryRun = false

        func run() async throws {
            let columns = try mapping.map { try JSONDecoder().decode(MosaicMapping.self, from: Data(contentsOf: URL(fileURLWithPath: $0))) }
            guard let schemeBytes = FileManager.default.contents(atPath: scheme) else { throw ValidationError("cannot read \(scheme)") }
            guard let areaBytes = FileManager.default.contents(atPath: areas) else { throw ValidationError("cannot read \(areas)") }
            let report = try await Environment().withOwner { owner in
                try await MosaicImport(mapping: columns ?? .standard, dryRun: dryRun).run(
                    scheme: Array(schemeBytes), areas: Array(areaBytes), label: label, by: nil, now: Date(), db: owner)
            }
            print(MosaicCommand.summary(report))
            if report.rejected > 0 { throw ExitCode(2) }
        }
    }

    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the generated Mosaic files (invented names) for the demo libraries' postcodes, or load them.")
        @Option(help: "Write scheme.csv and areas.csv into this folder.") var out: String?
        @Option(help: "Add invented municipalities until the province holds about this many households.") var households: Int?
        @Flag(help: "Load the generated files as the current delivery.") var load = false

        func run() async throws {
            let demo = MosaicDemo()
            let (scheme, areas) = (demo.scheme(), demo.areas(households: households))
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try scheme.write(toFile: out + "/scheme.csv", atomically: true, encoding: .utf8)
                try areas.write(toFile: out + "/areas.csv", atomically: true, encoding: .utf8)
                print("wrote \(out)/scheme.csv and \(out)/areas.csv")
            }
            guard load else { return }
            let report = try await Environment().withOwner { owner in
                try await MosaicImport().run(
                    scheme: Array(scheme.utf8), areas: Array(areas.utf8), label: "Demo (synthetisch)", by: nil, now: Date(), db: owner)
            }
            print(MosaicCommand.summary(report))
        }
    }

    static func summary(_ report: MosaicImportReport) -> String {
        if report.unchanged { return "unchanged: the current delivery has these files (\(report.deliveryID?.uuidString.lowercased() ?? "?"))" }
        var lines = [
            "\(report.dryRun ? "dry run: " : "")\(report.label): \(report.segments) segments, \(report.subsegments) subsegments, "
                + "\(report.postcodes) postcodes (\(report.areaRows) rows), \(report.households) households, \(report.inhabitants) inhabitants, "
                + "\(report.rejected) rejected rows"
        ]
        for error in report.errors.prefix(50) {
            lines.append("\(error.file) line \(error.line)\(error.column.map { ", \($0)" } ?? ""): \(error.reason)")
        }
        if report.rejected > 50 { lines.append("... and \(report.rejected - 50) more rejected rows") }
        return lines.joined(separator: "\n")
    }
}
