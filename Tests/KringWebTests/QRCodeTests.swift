import Testing

@testable import KringWeb

/// Reference matrices were produced by an independent implementation, the Python
/// `qrcode` package (5.x): `QRCode(version=None, error_correction=ERROR_CORRECT_M,
/// border=0, mask_pattern=n)` with the data added as one 8-bit byte segment.
/// Each row is hex, most significant bit first, padded with zero bits to a nibble.
/// With `forcedMask: nil`, `mask` is python-qrcode's own automatic choice.
@Suite struct QRCodeTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        let text: String
        let forcedMask: Int?
        let version: Int
        let mask: Int
        let rows: String

        var testDescription: String {
            "\(text.utf8.count) bytes, v\(version), mask \(forcedMask.map(String.init) ?? "auto")"
        }

        /// The expected module matrix as rows of "0" (light) and "1" (dark).
        var matrix: [String] {
            let size = 4 * version + 17
            return rows.split(separator: "\n").map { line in
                let bits = line.trimmingPrefix(while: \.isWhitespace).flatMap { digit -> [Character] in
                    let nibble = digit.hexDigitValue ?? 0
                    return (0..<4).map { nibble >> (3 - $0) & 1 == 1 ? "1" : "0" }
                }
                return String(bits.prefix(size))
            }
        }
    }

    static let references: [Reference] = [
        Reference(
            text: "HELLO",
            forcedMask: nil, version: 1, mask: 2,
            rows: """
                fe13f8
                822a08
                bac2e8
                baaae8
                bacae8
                82f208
                feabf8
                00c000
                be33e0
                6d7e60
                3e8b70
                687e60
                5f8928
                00a940
                fe74b0
                82a1f0
                bad4b0
                badf40
                bacb20
                827ee0
                fec8b0
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 0, version: 1, mask: 0,
            rows: """
                fe73f8
                82b208
                ba22e8
                ba32e8
                baaae8
                826a08
                feabf8
                005800
                aa5090
                a86210
                0668f8
                ad6210
                676aa0
                00b530
                fe1738
                823d80
                bab738
                ba4330
                baa8a8
                826290
                feab38
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 1, version: 1, mask: 1,
            rows: """
                fea3f8
                826208
                baf2e8
                ba62e8
                ba7ae8
                82ba08
                feabf8
                000800
                a30128
                fd3740
                533da8
                f83740
                323ff0
                00e060
                fec268
                8268d0
                ba6268
                ba1660
                bafdf8
                8237c0
                fefe68
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 2, version: 1, mask: 2,
            rows: """
                fe13f8
                822a08
                bac2e8
                baaae8
                bacae8
                82f208
                feabf8
                00c000
                be33e0
                6d7e60
                3e8b70
                687e60
                5f8928
                00a940
                fe74b0
                82a1f0
                bad4b0
                badf40
                bacb20
                827ee0
                fec8b0
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 3, version: 1, mask: 3,
            rows: """
                fe93f8
                82f208
                ba2ae8
                baaae8
                ba12e8
                821a08
                feabf8
                009800
                b75a58
                6d7e60
                8a5018
                b113d0
                5f8928
                00f228
                fe9900
                82a1f0
                ba0fd8
                bab2f0
                bacb20
                822588
                fea500
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 4, version: 1, mask: 4,
            rows: """
                fed3f8
                826a08
                ba7ae8
                ba92e8
                ba8ae8
                82b208
                feabf8
                00f800
                8bf7c8
                1cb978
                b2b390
                e44680
                2e4e30
                00ee58
                fecc50
                821910
                ba93a8
                ba1858
                ba73c0
                824600
                fe8fa8
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 5, version: 1, mask: 5,
            rows: """
                fe23f8
                82ea08
                bac2e8
                bacae8
                ba4ae8
                823208
                feabf8
                008000
                82b670
                559de8
                3e8b70
                783f60
                323ff0
                00e840
                fe74b0
                824278
                ba54b0
                ba1e40
                ba7df8
                823fe0
                fec8b0
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 6, version: 1, mask: 6,
            rows: """
                fea3f8
                82ea08
                bae2e8
                ba4ae8
                badae8
                820208
                feabf8
                000000
                9f94b8
                559de8
                1a1938
                740fa0
                323ff0
                00ee58
                fed020
                82c278
                bac6f8
                baae80
                ba7df8
                8239f8
                feec20
                """
        ),
        Reference(
            text: "HELLO",
            forcedMask: 7, version: 1, mask: 7,
            rows: """
                fe73f8
                821208
                ba32e8
                ba32e8
                ba0ae8
                82fa08
                feabf8
                007800
                96c500
                a86210
                4f4c68
                89f058
                676aa0
                0091a0
                fe0570
                82bd80
                ba13a8
                bad178
                ba28a8
                824600
                feb970
                """
        ),
        Reference(
            text: "Kring – één bibliotheekpas voor iedereen!",
            forcedMask: nil, version: 4, mask: 7,
            rows: """
                fe1933bf8
                82614ea08
                ba5ac0ae8
                ba05452e8
                ba5cd5ae8
                82e26c208
                feaaaabf8
                007a7c800
                96ad94d00
                75f0a9dd8
                2b205f288
                7d6b50740
                2b1811e10
                d529c2ab8
                da124d190
                78cd55c08
                c7e6dccd0
                61ea852b0
                5ef82b6f8
                bce8f4588
                6eb1e3c50
                101fbea50
                f6c328708
                414084988
                9f8bdcf90
                00861b8b8
                fe680dad0
                828790890
                ba4483f98
                baa31c790
                ba2e068a8
                8231e7800
                fef884bd0
                """
        ),
        Reference(
            text: "Kring – één bibliotheekpas voor iedereen!",
            forcedMask: 3, version: 4, mask: 3,
            rows: """
                fefabdbf8
                8282c0a08
                ba46b12e8
                ba9934ae8
                ba40a42e8
                8201e2208
                feaaaabf8
                0099f2800
                b731e5258
                b0ecd81a8
                ee3c2eef8
                4588de4c8
                13fb9fd98
                edca4c930
                1f0e3cde0
                bdd124078
                02faad0a0
                59090b138
                661ba5570
                840b7a600
                abad92020
                d503cf620
                33df59b78
                79a30aa00
                a76852f98
                00e5958b0
                fef47caa0
                829be18e0
                ba58f2fe8
                bac092418
                bacd88b20
                825269b88
                fee4f57a0
                """
        ),
        Reference(
            text: "otpauth://totp/Kring:anna%40bibliotheek.nl?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kring",
            forcedMask: nil, version: 6, mask: 2,
            rows: """
                fe1d6c593f8
                8202c476a08
                bacb67832e8
                baba04e72e8
                baf1eb0dae8
                82a24a14208
                feaaaaaabf8
                00ffac08800
                be0f52ce3e0
                e1327d4f5e0
                369ee0724e0
                50e1be9b2d0
                bf601bf5878
                a8ed660bb80
                9a28efde800
                51e405108c8
                5e97ef20120
                102c8bbcba8
                dff9a2703d0
                708f00b0490
                7a373f90960
                14649547f98
                8b03227c980
                c1708fa1808
                3bfd60ad9a8
                984f3f495c0
                ca9d68b8480
                21d425883d0
                c3e88245070
                f9008cabb80
                bb2cf4529a0
                ac8d9ca2c48
                a3b11638fb0
                00a04c7d888
                fe03cc76af0
                82feef518c0
                ba8a0c24f80
                baa63b48040
                bae8e858fa0
                824b4d3aed0
                fec743750a0
                """
        ),
        Reference(
            text: "otpauth://totp/Kring:anna%40bibliotheek.nl?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kring&digits=6&period=30",
            forcedMask: nil, version: 7, mask: 5,
            rows: """
                fe58ed3fcbf8
                82f355c81208
                bafbf476d2e8
                baf6657fdae8
                ba573f863ae8
                823348f84208
                feaaaaaaabf8
                00f588c87800
                8286cfe33e70
                6452aba7bfd0
                839bb2ef7630
                e4b885befaf8
                a37129dad6c0
                38e00747cc28
                47de9f847250
                b85d2d3d00f8
                d2426c850268
                109ae1860c58
                337edade97d8
                00a3511b82f8
                5fbeeff53f88
                48bf48ae38e0
                8ac12ae53ab0
                78ef68aa68e8
                cfb6efce8f98
                c516f3d64d08
                022a843a3570
                20efa5a341e0
                a6b6e0216480
                f170a95fd928
                465d2ba45ae8
                9549fd519268
                2b6fb82525e0
                9d56717767e8
                0a408d35c5d0
                791acd9afb20
                9a257fedbfd8
                0094389688a8
                fe272a812ab0
                8258d8a1e8f8
                ba670fc55f88
                ba34c1ca4158
                ba328b58cc88
                824a5d89f460
                feddc1e65dd0
                """
        ),
        Reference(
            text: "otpauth://totp/Kring:anna%40bibliotheek.nl?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kring&digits=6&period=30",
            forcedMask: 1, version: 7, mask: 1,
            rows: """
                fed8ed3fcbf8
                827b754a1208
                bacd2f1b52e8
                ba5ccfd55ae8
                ba61efebbae8
                82bb68fa4208
                feaaaaaaabf8
                007da8ca7000
                a3301f8e8928
                ccf8010d1578
                ee2d6982c0e8
                64b0a53cf2d8
                a37129dad6c0
                b8e827c5c408
                2a6844e9c488
                10f78797aa50
                bff4b7e8b4b0
                9092c1040478
                337edade97d8
                80ab71998ad8
                3f883f988fd0
                e895e88498c8
                eaf7fa888ae8
                f8e748a868c8
                cfb6efce8f98
                451ed3544528
                6f9c5f5783a8
                88450f09eb48
                cb003b4cd258
                717889ddd108
                465d2ba45ae8
                1541ddd39a48
                46d963489338
                35fcdbddcd40
                0bf656587308
                7912ed18f300
                9a257fedbfd8
                009c18948888
                fe91faec9ae8
                8272788b48d0
                ba51dfa8efd0
                ba3ce1484978
                bab28b58cc88
                82427d0bfc40
                feeb1a8beb08
                """
        ),
        Reference(
            text:
                "0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij",
            forcedMask: nil, version: 10, mask: 2,
            rows: """
                fe7eb2d71c7b3f8
                822d3fb86b15208
                ba97cd9f128f2e8
                bacbfd024b152e8
                bab122bf10a12e8
                82dadc227e52208
                feaaaaaaaaaabf8
                00be38e290be000
                be6de57f2b043e0
                497498870925cf8
                67a82a60fe53360
                e905460684fdda8
                e6611af51d66240
                e4b15d66c031c18
                333be4313f46ba0
                01d3d968e3e9ca0
                16a121115870148
                c166e8dbd0719a8
                c77675342f8fe10
                6d94fdccc18ecf0
                56e361317a35700
                5c649ebd1c688b8
                53631edae397720
                089da1da10ad9b8
                1a4dd3218934450
                d1adbe8e81bdc38
                4ff6f9bffe43fc0
                38d20ce2f0be8a0
                7ac37a2b4f40ad0
                68b1c3a210b98f8
                7fbec9feef46f80
                782e1c2084fd230
                d7561dbf7b02dc0
                8102a6875921000
                af473dd73f46df8
                251a78a0e3e9360
                739d7f111c16480
                75c23aaa8561f28
                eb38d61e6b8ed50
                a8aacba9d08f3f0
                3e46316a2f70488
                bd70aab20d70d38
                1aea0f62e397060
                216d7ad410ade28
                17d12d5a6d70ad0
                c4686286982d178
                a63baac2fe429a0
                f8c9f8bef4fd738
                02b5ba3f0920fc0
                00b17fe381a88f8
                fe0628ab6f46ac0
                82ee3c2284f88a0
                bae06abf3f45fc0
                ba89ab7a49a81a0
                bad6f4453fcfa60
                821e275ec1e9d60
                fe9c87011c53a10
                """
        ),
    ]

    @Test(arguments: references)
    func matchesReferenceMatrix(reference: Reference) throws {
        let code = try QRCode(text: reference.text, forcedMask: reference.forcedMask)
        #expect(code.version == reference.version)
        #expect(code.mask == reference.mask)
        #expect(code.size == 4 * reference.version + 17)
        let expected = reference.matrix
        try #require(expected.count == code.size)
        for y in 0..<code.size {
            let row = String((0..<code.size).map { x in code.isDark(x: x, y: y) ? "1" : "0" })
            #expect(row == expected[y], "row \(y)")
        }
    }

    @Test func bytesAndTextInitialisersAgree() throws {
        let text = "otpauth://totp/Kring:anna%40bibliotheek.nl?secret=JBSWY3DPEHPK3PXP&issuer=Kring"
        let fromText = try QRCode(text: text)
        let fromBytes = try QRCode(bytes: Array(text.utf8))
        #expect(fromText.version == fromBytes.version && fromText.mask == fromBytes.mask)
        #expect(fromText.svg(label: "x") == fromBytes.svg(label: "x"))
    }

    @Test func versionBoundaries() throws {
        #expect(try QRCode(bytes: []).version == 1)
        #expect(try QRCode(bytes: Array(repeating: 0x41, count: 14)).version == 1)
        #expect(try QRCode(bytes: Array(repeating: 0x41, count: 15)).version == 2)
        #expect(try QRCode(bytes: Array(repeating: 0x41, count: 213)).version == 10)  // 16-bit count field
        #expect(try QRCode(bytes: Array(repeating: 0x41, count: 412)).version == 15)
        #expect(throws: QRCode.Failure.tooLong) { try QRCode(bytes: Array(repeating: 0x41, count: 413)) }
    }

    @Test func tooLongInputThrows() {
        #expect(throws: QRCode.Failure.tooLong) { try QRCode(bytes: Array(repeating: 0x7A, count: 3000)) }
        #expect(throws: QRCode.Failure.tooLong) { try QRCode(text: String(repeating: "é", count: 1500)) }
    }

    @Test func outOfRangeForcedMaskFallsBackToAutomatic() throws {
        let automatic = try QRCode(text: "HELLO")
        #expect(try QRCode(text: "HELLO", forcedMask: 8).mask == automatic.mask)
        #expect(try QRCode(text: "HELLO", forcedMask: -1).mask == automatic.mask)
    }

    @Test func modulesOutsideTheSymbolAreLight() throws {
        let code = try QRCode(text: "HELLO")
        #expect(code.isDark(x: 0, y: 0))
        #expect(!code.isDark(x: -1, y: 0))
        #expect(!code.isDark(x: 0, y: code.size))
        #expect(!code.isDark(x: Int.min, y: Int.max))
    }

    @Test func svgIsAccessibleAndEscaped() throws {
        let code = try QRCode(text: "otpauth://totp/Kring:anna%40bibliotheek.nl?secret=JBSWY3DPEHPK3PXP&issuer=Kring")
        let svg = code.svg(label: "Scan <this> & \"that\" 'now'", pixels: 240)
        let side = code.size + 8
        #expect(svg.hasPrefix("<svg "))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains(#"role="img""#))
        #expect(svg.contains(#"aria-label="Scan &lt;this&gt; &amp; &quot;that&quot; &#39;now&#39;""#))
        #expect(svg.contains(#"viewBox="0 0 \#(side) \#(side)""#))
        #expect(svg.contains(#"width="240" height="240""#))
        #expect(svg.contains(#"shape-rendering="crispEdges""#))
        #expect(svg.contains(##"<rect width="\##(side)" height="\##(side)" fill="#fff"/>"##))
        #expect(svg.ranges(of: "<path ").count == 1)
        #expect(!svg.contains("<this>"))
        // The top-left finder's first row is one merged 7-module run, shifted by the quiet zone.
        #expect(svg.contains(#"d="M4,4h7v1h-7z"#))
        #expect(code.svg(label: "x").contains(#"width="200" height="200""#))
    }

    @Test func svgPathCoversExactlyTheDarkModules() throws {
        let code = try QRCode(text: "HELLO")
        let svg = code.svg(label: "HELLO")
        let pathStart = try #require(svg.firstRange(of: #"d=""#))
        let pathEnd = try #require(svg[pathStart.upperBound...].firstIndex(of: "\""))
        var drawn = Set<[Int]>()
        for command in svg[pathStart.upperBound..<pathEnd].split(separator: "M") {
            // "x,yhNv1h-Nz"
            let parts = command.split(whereSeparator: { ",hvz".contains($0) })
            let x = try #require(Int(parts[0]))
            let y = try #require(Int(parts[1]))
            let run = try #require(Int(parts[2]))
            for dx in 0..<run { drawn.insert([x + dx - 4, y - 4]) }
        }
        var dark = Set<[Int]>()
        for y in 0..<code.size { for x in 0..<code.size where code.isDark(x: x, y: y) { dark.insert([x, y]) } }
        #expect(drawn == dark)
    }
}
