import KringCore

/// A QR Code symbol (ISO/IEC 18004, Model 2) encoding bytes in byte mode at
/// error correction level M, for small payloads such as TOTP enrolment URLs.
///
/// The encoder follows the well-known public algorithm (as explained by e.g.
/// Project Nayuki's QR Code generator): build the data bit stream, split it into
/// Reed–Solomon blocks, interleave, place the codewords in the zigzag order and
/// pick the mask pattern with the lowest penalty score. Only versions 1...15 are
/// supported (at most 412 bytes at level M), which is ample for `otpauth://` URLs.
public struct QRCode: Sendable {
    public enum Failure: Error {
        /// The payload does not fit in a version 15 symbol at level M.
        case tooLong
    }

    /// Modules per side (`4 * version + 17`), without a quiet zone.
    public let size: Int
    /// The symbol version, 1...15.
    public let version: Int
    /// The mask pattern applied to the data area, 0...7.
    public let mask: Int
    /// Row-major module colours, `true` meaning dark.
    private let modules: [Bool]

    /// Encodes the UTF-8 bytes of `text`.
    public init(text: String, forcedMask: Int? = nil) throws {
        try self.init(bytes: Array(text.utf8), forcedMask: forcedMask)
    }

    /// Encodes `bytes` in byte mode at error correction level M, in the smallest
    /// version that fits. The mask is chosen by the standard penalty rules unless
    /// `forcedMask` is given; a forced mask outside 0...7 is ignored.
    public init(bytes: [UInt8], forcedMask: Int? = nil) throws {
        guard
            let version = (Self.minVersion...Self.maxVersion).first(where: {
                Self.dataBitCount(byteCount: bytes.count, version: $0) <= Self.dataCodewordCount(version: $0) * 8
            })
        else {
            throw Failure.tooLong
        }
        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        grid.drawCodewords(Self.interleavedCodewords(data: Self.dataCodewords(bytes, version: version), version: version))

        let chosenMask: Int
        if let forcedMask, (0...7).contains(forcedMask) {
            chosenMask = forcedMask
        } else {
            // Format and version areas are still light here: the standard applies the
            // mask (and scores it) before writing the format information.
            var best = (mask: 0, penalty: Int.max)
            for candidate in 0..<8 {
                var trial = grid
                trial.applyMask(candidate)
                let penalty = trial.penalty()
                if penalty < best.penalty { best = (candidate, penalty) }
            }
            chosenMask = best.mask
        }
        grid.applyMask(chosenMask)
        grid.drawFormatAndVersion(mask: chosenMask)

        self.size = grid.size
        self.version = version
        self.mask = chosenMask
        self.modules = grid.modules
    }

    /// Whether the module at column `x`, row `y` is dark; `false` outside the symbol.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// An SVG image: a 4-module quiet zone, a white background and one `<path>` of
    /// dark modules (horizontal runs merged), drawn `pixels` CSS pixels square.
    public func svg(label: String, pixels: Int = 200) -> String {
        let quiet = 4
        let side = size + 2 * quiet
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                var run = 1
                while isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + quiet),\(y + quiet)h\(run)v1h-\(run)z"
                x += run
            }
        }
        let escaped = HTMLText.escape(label)
        let pixels = max(1, pixels)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(pixels)" height="\(pixels)" \
            role="img" aria-label="\(escaped)" shape-rendering="crispEdges">\
            <rect width="\(side)" height="\(side)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }
}

// MARK: - Capacity tables (error correction level M)

extension QRCode {
    static let minVersion = 1
    static let maxVersion = 15

    /// Error correction codewords per block, indexed by version (index 0 unused).
    private static let eccCodewordsPerBlock = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24]
    /// Number of Reed–Solomon blocks, indexed by version (index 0 unused).
    private static let blockCount = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10]
    /// Centre coordinates of the alignment patterns, indexed by version (index 0 unused).
    static let alignmentPositions: [[Int]] = [
        [], [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46],
        [6, 28, 50], [6, 30, 54], [6, 32, 58], [6, 34, 62], [6, 26, 46, 66], [6, 26, 48, 70],
    ]

    /// Modules available for codewords once all function patterns are placed.
    private static func rawDataModuleCount(version: Int) -> Int {
        var count = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            count -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { count -= 36 }
        }
        return count
    }

    /// Data codewords (excluding error correction) a symbol of `version` holds.
    private static func dataCodewordCount(version: Int) -> Int {
        rawDataModuleCount(version: version) / 8 - eccCodewordsPerBlock[version] * blockCount[version]
    }

    /// Width of the byte-mode character count field.
    private static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Bits needed for mode indicator, count field and payload.
    private static func dataBitCount(byteCount: Int, version: Int) -> Int {
        guard byteCount < 1 << countBits(version: version) else { return Int.max }
        return 4 + countBits(version: version) + 8 * byteCount
    }
}

// MARK: - Data codewords and error correction

extension QRCode {
    /// The padded data codewords: mode, count, payload, terminator and pad bytes.
    private static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        let capacityBits = dataCodewordCount(version: version) * 8
        var bits: [Bool] = []
        bits.reserveCapacity(capacityBits)
        func append(_ value: Int, _ length: Int) {
            for shift in stride(from: length - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, countBits(version: version))
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacityBits - bits.count))
        append(0, (8 - bits.count % 8) % 8)

        var codewords: [UInt8] = []
        codewords.reserveCapacity(capacityBits / 8)
        for start in stride(from: 0, to: bits.count, by: 8) {
            codewords.append(bits[start..<start + 8].reduce(0) { $0 << 1 | ($1 ? 1 : 0) })
        }
        var pad: UInt8 = 0xEC
        while codewords.count < capacityBits / 8 {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// Splits data into blocks, appends Reed–Solomon codewords to each, and
    /// interleaves them into the final codeword sequence.
    private static func interleavedCodewords(data: [UInt8], version: Int) -> [UInt8] {
        let blocks = blockCount[version]
        let eccLength = eccCodewordsPerBlock[version]
        let rawCodewords = rawDataModuleCount(version: version) / 8
        let shortBlockCount = blocks - rawCodewords % blocks
        let shortDataLength = rawCodewords / blocks - eccLength
        let divisor = ReedSolomon.divisor(degree: eccLength)

        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blocks {
            let length = shortDataLength + (index < shortBlockCount ? 0 : 1)
            let block = Array(data[offset..<offset + length])
            offset += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(of: block, divisor: divisor))
        }

        var result: [UInt8] = []
        result.reserveCapacity(rawCodewords)
        for column in 0...shortDataLength {
            for block in dataBlocks where column < block.count { result.append(block[column]) }
        }
        for column in 0..<eccLength {
            for block in eccBlocks { result.append(block[column]) }
        }
        return result
    }
}

// MARK: - Reed–Solomon

extension QRCode {
    /// Reed–Solomon arithmetic over GF(2^8) with the QR polynomial x^8+x^4+x^3+x^2+1.
    private enum ReedSolomon {
        /// The generator polynomial of the given degree (leading 1 omitted), highest power first.
        static func divisor(degree: Int) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: degree)
            result[degree - 1] = 1
            var root: UInt8 = 1
            for _ in 0..<degree {
                for index in 0..<degree {
                    result[index] = multiply(result[index], root)
                    if index + 1 < degree { result[index] ^= result[index + 1] }
                }
                root = multiply(root, 0x02)
            }
            return result
        }

        /// The remainder of `data * x^degree` divided by the generator polynomial.
        static func remainder(of data: [UInt8], divisor: [UInt8]) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: divisor.count)
            for byte in data {
                let factor = byte ^ result.removeFirst()
                result.append(0)
                for index in result.indices { result[index] ^= multiply(divisor[index], factor) }
            }
            return result
        }

        /// Product in GF(2^8), by shift-and-add.
        static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
            var product = 0
            for bit in stride(from: 7, through: 0, by: -1) {
                product = (product << 1) ^ ((product >> 7) * 0x11D)
                product ^= Int((y >> UInt8(bit)) & 1) * Int(x)
            }
            return UInt8(product)
        }
    }
}

// MARK: - Module grid

extension QRCode {
    /// The module matrix under construction, with a flag for function modules.
    private struct Grid {
        let version: Int
        let size: Int
        var modules: [Bool]
        var isFunction: [Bool]

        init(version: Int) {
            self.version = version
            size = 4 * version + 17
            modules = Array(repeating: false, count: size * size)
            isFunction = Array(repeating: false, count: size * size)
        }

        subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

        /// Sets a function module (finder, timing, alignment, format or version).
        mutating func setFunction(x: Int, y: Int, dark: Bool) {
            modules[y * size + x] = dark
            isFunction[y * size + x] = true
        }

        /// Draws finders, separators, timing and alignment patterns, and reserves the
        /// format and version areas (left light until the mask is known).
        mutating func drawFunctionPatterns() {
            for i in 0..<size {
                setFunction(x: 6, y: i, dark: i % 2 == 0)
                setFunction(x: i, y: 6, dark: i % 2 == 0)
            }
            drawFinder(centerX: 3, centerY: 3)
            drawFinder(centerX: size - 4, centerY: 3)
            drawFinder(centerX: 3, centerY: size - 4)

            let positions = QRCode.alignmentPositions[version]
            for cy in positions {
                for cx in positions {
                    let overlapsFinder =
                        (cx == 6 && cy == 6) || (cx == 6 && cy == positions.last)
                        || (cx == positions.last && cy == 6)
                    if !overlapsFinder { drawAlignment(centerX: cx, centerY: cy) }
                }
            }
            drawFormatAndVersion(mask: nil)
        }

        /// A 7×7 finder pattern plus its light separator, clipped to the symbol.
        private mutating func drawFinder(centerX: Int, centerY: Int) {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = centerX + dx
                    let y = centerY + dy
                    guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                    let distance = max(abs(dx), abs(dy))
                    setFunction(x: x, y: y, dark: distance != 2 && distance != 4)
                }
            }
        }

        /// A 5×5 alignment pattern.
        private mutating func drawAlignment(centerX: Int, centerY: Int) {
            for dy in -2...2 {
                for dx in -2...2 {
                    setFunction(x: centerX + dx, y: centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
                }
            }
        }

        /// Writes the format bits (level M, `mask`), the dark module and, from version 7,
        /// the version bits. With `mask == nil` the areas are only reserved, all light.
        mutating func drawFormatAndVersion(mask: Int?) {
            var format = 0
            if let mask {
                let data = 0b00 << 3 | mask  // level M has format bits 00
                format = (data << 10 | Self.bchRemainder(data, generator: 0x537, degree: 10)) ^ 0x5412
            }
            func bit(_ value: Int, _ index: Int) -> Bool { (value >> index) & 1 == 1 }

            for i in 0...5 { setFunction(x: 8, y: i, dark: bit(format, i)) }
            setFunction(x: 8, y: 7, dark: bit(format, 6))
            setFunction(x: 8, y: 8, dark: bit(format, 7))
            setFunction(x: 7, y: 8, dark: bit(format, 8))
            for i in 9..<15 { setFunction(x: 14 - i, y: 8, dark: bit(format, i)) }
            for i in 0..<8 { setFunction(x: size - 1 - i, y: 8, dark: bit(format, i)) }
            for i in 8..<15 { setFunction(x: 8, y: size - 15 + i, dark: bit(format, i)) }
            setFunction(x: 8, y: size - 8, dark: mask != nil)

            guard version >= 7 else { return }
            let versionBits = mask == nil ? 0 : version << 12 | Self.bchRemainder(version, generator: 0x1F25, degree: 12)
            for i in 0..<18 {
                let a = size - 11 + i % 3
                let b = i / 3
                setFunction(x: a, y: b, dark: bit(versionBits, i))
                setFunction(x: b, y: a, dark: bit(versionBits, i))
            }
        }

        /// Remainder of `value * x^degree` modulo the BCH generator polynomial.
        private static func bchRemainder(_ value: Int, generator: Int, degree: Int) -> Int {
            var remainder = value
            for _ in 0..<degree { remainder = (remainder << 1) ^ ((remainder >> (degree - 1)) * generator) }
            return remainder
        }

        /// Places the codeword bits in the two-column zigzag, right to left, skipping
        /// the vertical timing column. Leftover modules (remainder bits) stay light.
        mutating func drawCodewords(_ codewords: [UInt8]) {
            let bitCount = codewords.count * 8
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                let upward = (right + 1) & 2 == 0
                for step in 0..<size {
                    let y = upward ? size - 1 - step : step
                    for x in [right, right - 1] where !isFunction[y * size + x] && index < bitCount {
                        modules[y * size + x] = (codewords[index >> 3] >> (7 - UInt8(index & 7))) & 1 == 1
                        index += 1
                    }
                }
                right -= 2
            }
        }

        /// Inverts every non-function module selected by mask pattern `mask`.
        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y * size + x] {
                    let invert: Bool
                    switch mask {
                    case 0: invert = (x + y) % 2 == 0
                    case 1: invert = y % 2 == 0
                    case 2: invert = x % 3 == 0
                    case 3: invert = (x + y) % 3 == 0
                    case 4: invert = (x / 3 + y / 2) % 2 == 0
                    case 5: invert = x * y % 2 + x * y % 3 == 0
                    case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                    default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if invert { modules[y * size + x].toggle() }
                }
            }
        }

        /// The penalty score of the standard's four rules: runs of five or more equal
        /// modules (N1 = 3, plus 1 per extra module), 2×2 blocks of one colour (N2 = 3),
        /// finder-like 1:1:3:1:1 patterns with four light modules on one side inside the
        /// symbol (N3 = 40 per side), and dark proportion (N4 = 10 per 5 % from 50 %).
        func penalty() -> Int {
            var score = 0
            let finderBefore: [Bool] = [false, false, false, false, true, false, true, true, true, false, true]
            let finderAfter: [Bool] = Array(finderBefore.reversed())
            for transposed in [false, true] {
                for line in 0..<size {
                    let cells = (0..<size).map { transposed ? self[line, $0] : self[$0, line] }
                    var runLength = 1
                    for i in 1...cells.count {
                        if i < cells.count && cells[i] == cells[i - 1] {
                            runLength += 1
                        } else {
                            if runLength >= 5 { score += runLength - 2 }
                            runLength = 1
                        }
                    }
                    for start in 0..<max(0, size - 10) {
                        let window = cells[start..<start + 11]
                        if window.elementsEqual(finderBefore) { score += 40 }
                        if window.elementsEqual(finderAfter) { score += 40 }
                    }
                }
            }
            for y in 0..<size - 1 {
                for x in 0..<size - 1 {
                    let colour = self[x, y]
                    if colour == self[x + 1, y] && colour == self[x, y + 1] && colour == self[x + 1, y + 1] { score += 3 }
                }
            }
            let dark = modules.reduce(0) { $0 + ($1 ? 1 : 0) }
            let total = size * size
            score += abs(dark * 20 - total * 10) / total * 10
            return score
        }
    }
}
