import Foundation
import KringB2C

/// Generated Mosaic files for the demo and the tests: a scheme of 11 segments and 59 subsegments with invented names
/// (never the supplier's), and area data for the demo libraries' real postcode ranges, as CSV in the standard
/// mapping's Dutch headers, so they take the same road as a real delivery. Deterministic for a given seed.
public struct MosaicDemo: Sendable {
    /// Invented segments, each with its subsegments' invented names.
    static let segments: [(code: String, name: String, subsegments: [String])] = [
        (
            "A", "Stadse starters (synthetisch)",
            ["Eerste flat", "Samenwonend in de stad", "Net afgestudeerd", "Creatieve huurders", "Stadse singles"]
        ),
        (
            "B", "Jonge gezinnen (synthetisch)",
            ["Kinderwagen en werk", "Rijtjes met tuin", "Nieuwbouwgezinnen", "Drukke tweeverdieners", "Schoolplein", "Gezin in de groei"]
        ),
        ("C", "Dorpse rust (synthetisch)", ["Dorpskern", "Boerenerf", "Verenigingsleven", "Lintbebouwing", "Streekgebonden"]),
        ("D", "Ruim wonen (synthetisch)", ["Villa aan de rand", "Duin en bos", "Vrijstaand en vrij", "Oud geld", "Golf en goede doelen"]),
        (
            "E", "Grijze kern (synthetisch)",
            ["Rustig na het werk", "Seniorenflat", "Kleinkinderen op zondag", "Actieve vijftigers", "Hoogbejaard thuis", "Zorg om de hoek"]
        ),
        ("F", "Studenten en nomaden (synthetisch)", ["Kamer in de stad", "Expats", "Tijdelijk hier", "Internationaal", "Op doorreis"]),
        ("G", "Nieuwe buren (synthetisch)", ["Taal leren", "Grote families", "Net aangekomen", "Tweede generatie", "Wijk in opbouw", "Samen sterk"]),
        ("H", "Middenin (synthetisch)", ["Doorzonwoning", "Middelbaar en modaal", "Sportief middenveld", "Hypotheek en hond", "Buurtbarbecue"]),
        ("J", "Cultuurzoekers (synthetisch)", ["Museumkaart", "Grachtenpand", "Boek en podium", "Kunst aan de muur", "Debat en lezing"]),
        ("K", "Krappe beurs (synthetisch)", ["Rondkomen", "Alleen met kinderen", "Sociale huur", "Werk zoeken", "Flat aan de ring"]),
        (
            "L", "Digitale doeners (synthetisch)",
            ["Altijd online", "Thuiswerkers", "Gamers en streamers", "Slimme woning", "Zelfstandig ondernemer", "Gadgets"]
        ),
    ]

    static let media = ["veel online", "krant op papier", "radio en tv", "podcasts", "sociale media", "tijdschriften"]
    static let leisure = ["sport", "cultuur", "tuin en natuur", "familie", "uitgaan", "lezen", "reizen"]

    public let seed: UInt64

    public init(seed: UInt64 = 7) { self.seed = seed }

    /// The scheme file: one row per subsegment.
    public func scheme() -> String {
        var out = "Segment;Segmentnaam;Segmentomschrijving;Subsegment;Subsegmentnaam;Subsegmentomschrijving;Mediagebruik;Vrije tijd\r\n"
        var random = DemoLibrary.Random(state: seed)
        for segment in Self.segments {
            for (index, name) in segment.subsegments.enumerated() {
                let code = "\(segment.code)\(String(format: "%02d", index + 1))"
                out +=
                    "\(segment.code);\(segment.name);Verzonnen groep voor demo en tests;\(code);\(name) (synthetisch);Verzonnen subgroep;"
                    + "\(Self.media[random.next(Self.media.count)]);\(Self.leisure[random.next(Self.leisure.count)])\r\n"
            }
        }
        return out
    }

    /// Every subsegment code, in scheme order.
    public static var subsegmentCodes: [String] {
        segments.flatMap { segment in segment.subsegments.indices.map { "\(segment.code)\(String(format: "%02d", $0 + 1))" } }
    }

    /// The area file: the demo libraries' postcodes (ten per number, as the demo's members have them), one to three
    /// subsegments each; with `households`, more invented municipalities until the province holds about that many.
    public func areas(households target: Int? = nil) -> String {
        var out = "Postcode;Gemeente;Subsegment;Huishoudens;Inwoners\r\n"
        var random = DemoLibrary.Random(state: seed &+ 1)
        let codes = Self.subsegmentCodes
        let letters = ["AB", "CD", "EF", "GH", "JK", "LM", "NP", "RS", "TV", "XZ"]
        var total = 0
        var used: Set<Int> = []
        func emit(_ municipality: String, _ number: Int, leaning: Int) {
            for pair in letters {
                // Each municipality leans to a few segments, so the reports have something to tell.
                var chosen: Set<String> = []
                for part in 0..<(1 + random.next(3)) {
                    let code = random.next(3) == 0 ? codes[random.next(codes.count)] : codes[(leaning + part * 7 + random.next(6)) % codes.count]
                    guard chosen.insert(code).inserted else { continue }
                    let households = 3 + random.next(40)
                    let inhabitants = households + households * random.next(200) / 100
                    out += "\(number) \(pair);\(municipality);\(code);\(households);\(inhabitants)\r\n"
                    total += households
                }
            }
        }
        var leaning = 0
        for slug in DemoLibrary.profiles.keys.sorted() {
            for area in DemoLibrary.profiles[slug]?.postcodes ?? [] {
                leaning += 11
                for number in area.range where used.insert(number).inserted { emit(area.municipality, number, leaning: leaning) }
            }
        }
        if let target {
            var number = 1000
            while total < target && number <= 9999 {
                if used.insert(number).inserted {
                    emit("Gemeente \(number / 50 - 19) (synthetisch)", number, leaning: number / 50)
                }
                number += 1
            }
        }
        return out
    }
}
