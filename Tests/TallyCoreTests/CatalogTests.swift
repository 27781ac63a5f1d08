import Foundation
import TallyCore
import Testing

/// A valid catalog as text, with fixed setup keys, for tests to break one place at a time.
enum CatalogText {
    static let keys: [ProductKey] = {
        var rng = SplitMix64(seed: 2026)
        return (0..<4).map { _ in ProductKey.generate(.clientSetup, using: &rng) }
    }()

    static let hostKey: ProductKey = {
        var rng = SplitMix64(seed: 2027)
        return ProductKey.generate(.host, using: &rng)
    }()

    static var valid: String {
        """
        {
          "version": 1,
          "vendor": {"id": "acme", "name": "Acme"},
          "service": "tally",
          "rearmLimit": 5,
          "classes": {
            "client": {"threshold": 25},
            "server": {"threshold": 5}
          },
          "products": [
            {
              "id": "studio",
              "name": "Studio",
              "skus": [
                {"id": "studio-pro", "name": "Studio Pro", "class": "client", "setupKey": "\(keys[0])"},
                {"id": "studio-standard", "name": "Studio Standard", "class": "client", "setupKey": "\(keys[1])"}
              ]
            },
            {
              "id": "studio-server",
              "name": "Studio Server",
              "skus": [
                {"id": "studio-server", "name": "Studio Server", "class": "server", "setupKey": "\(keys[2])"}
              ]
            }
          ],
          "groups": [
            {"id": "studio-2026", "skus": ["studio-pro", "studio-server"], "includes": ["studio-2025"]},
            {"id": "studio-2025", "skus": ["studio-standard"], "includes": []}
          ]
        }
        """
    }

    /// The valid text with `old` replaced by `new` (which must occur exactly once).
    static func with(_ old: String, _ new: String, in text: String = valid) -> String {
        precondition(text.components(separatedBy: old).count == 2, "\(old) must occur exactly once")
        return text.replacingOccurrences(of: old, with: new)
    }

    /// Line and column (1-based, in bytes as the parser counts) of the first occurrence of `needle`.
    static func position(of needle: String, in text: String) -> (line: Int, column: Int) {
        let bytes = Array(text.utf8)
        let target = Array(needle.utf8)
        var line = 1
        var lineStart = 0
        var index = 0
        while index + target.count <= bytes.count {
            if Array(bytes[index..<index + target.count]) == target { return (line, index - lineStart + 1) }
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        preconditionFailure("\(needle) not found")
    }
}

@Suite("Catalog")
struct CatalogTests {
    /// The problems of loading `text`; records an issue when it loads.
    func problems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [CatalogProblem] {
        switch Catalog.load(text) {
        case .success:
            Issue.record("the catalog loaded without problems", sourceLocation: sourceLocation)
            return []
        case let .failure(failure):
            return failure.problems
        }
    }

    /// Expects exactly one problem, at `path`, starting where `needle` starts, with `message` in its text.
    func expectOneProblem(_ text: String, path: String, at needle: String, message: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let found = problems(text, sourceLocation: sourceLocation)
        #expect(found.count == 1, "expected one problem, got \(found)", sourceLocation: sourceLocation)
        guard let problem = found.first else { return }
        let place = CatalogText.position(of: needle, in: text)
        #expect(problem.path == path, sourceLocation: sourceLocation)
        #expect(problem.line == place.line, "line: \(problem)", sourceLocation: sourceLocation)
        #expect(problem.column == place.column, "column: \(problem)", sourceLocation: sourceLocation)
        #expect(problem.message.contains(message), "message: \(problem.message)", sourceLocation: sourceLocation)
        #expect(problem.description.contains("line \(place.line), column \(place.column), \(path): "), sourceLocation: sourceLocation)
    }

    @Test("the starter catalog encodes and loads back unchanged")
    func starterRoundTrip() throws {
        let starter = Catalog.starter(vendorID: "acme", vendorName: "Acme Ltd")
        for pretty in [true, false] {
            let text = String(decoding: try TallyJSON.encode(starter, pretty: pretty), as: UTF8.self)
            let loaded = try Catalog.load(text).get()
            #expect(loaded == starter)
        }
        #expect(starter.classes["client"]?.threshold == 25)
        #expect(starter.classes["server"]?.threshold == 5)
        #expect(starter.rearmLimit == 5)
        #expect(starter.service == "tally")
        for sku in starter.allSKUs {
            #expect(try ProductKey(sku.setupKey).kind == .clientSetup)
        }
    }

    @Test("the test catalog text is valid")
    func validText() throws {
        let catalog = try Catalog.load(CatalogText.valid).get()
        #expect(catalog.vendor.id == "acme")
        #expect(catalog.allSKUs.map(\.id) == ["studio-pro", "studio-standard", "studio-server"])
        #expect(catalog.sku("studio-server")?.class == "server")
        #expect(catalog.sku("nope") == nil)
        #expect(catalog.group("studio-2025")?.skus == ["studio-standard"])
        #expect(catalog.group("nope") == nil)
    }

    @Test("a SKU of an unknown class is reported at its class")
    func unknownClass() {
        let text = CatalogText.with(#""name": "Studio Standard", "class": "client""#, #""name": "Studio Standard", "class": "desktop""#)
        expectOneProblem(text, path: "$.products[0].skus[1].class", at: #""desktop""#, message: "class 'desktop' is not in $.classes")
    }

    @Test("an invalid setup key is reported at the key")
    func invalidSetupKey() {
        var typo = Array(CatalogText.keys[1].normalized)
        typo.swapAt(7, 8)
        if typo[7] == typo[8] { typo[7] = typo[7] == "A" ? "B" : "A" }
        let text = CatalogText.with(CatalogText.keys[1].description, String(typo))
        expectOneProblem(text, path: "$.products[0].skus[1].setupKey", at: "\"\(String(typo))\"", message: "not a valid key")
    }

    @Test("a setup key of the wrong length is reported at the key")
    func shortSetupKey() {
        let text = CatalogText.with(CatalogText.keys[2].description, "CCCC")
        expectOneProblem(text, path: "$.products[1].skus[0].setupKey", at: #""CCCC""#, message: "not a valid key")
    }

    @Test("a host key used as a setup key is reported")
    func hostKeyAsSetupKey() {
        let text = CatalogText.with(CatalogText.keys[0].description, CatalogText.hostKey.description)
        expectOneProblem(text, path: "$.products[0].skus[0].setupKey", at: "\"\(CatalogText.hostKey)\"", message: "is a host key, not a client setup key")
    }

    @Test("one setup key for two SKUs is reported at the second")
    func sharedSetupKey() {
        let text = CatalogText.with(CatalogText.keys[2].description, CatalogText.keys[0].description.lowercased())
        expectOneProblem(text, path: "$.products[1].skus[0].setupKey", at: "\"\(CatalogText.keys[0].description.lowercased())\"",
                         message: "already used by SKU 'studio-pro'")
    }

    @Test("a duplicate SKU id is reported at the second definition")
    func duplicateSKU() {
        let third = #"{"id": "studio-server", "name": "Studio Server", "class": "server", "setupKey": "\#(CatalogText.keys[2])"}"#
        let duplicate = #"{"id": "studio-pro", "name": "Duplicate", "class": "server", "setupKey": "\#(CatalogText.keys[3])"}"#
        let text = CatalogText.with(third, third + ",\n        " + duplicate)
        expectOneProblem(text, path: "$.products[1].skus[1].id", at: #""studio-pro", "name": "Duplicate""#, message: "SKU 'studio-pro' is defined twice")
    }

    @Test("a duplicate product id is reported")
    func duplicateProduct() {
        let text = CatalogText.with(#""id": "studio-server",\#n      "name""#, #""id": "studio",\#n      "name""#)
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.path == "$.products[1].id")
        #expect(found.first?.message.contains("product 'studio' is defined twice") == true)
    }

    @Test("a group including an unknown group is reported at the include")
    func unknownIncludedGroup() {
        let text = CatalogText.with(#""includes": ["studio-2025"]"#, #""includes": ["studio-2025", "studio-2024"]"#)
        expectOneProblem(text, path: "$.groups[0].includes[1]", at: #""studio-2024""#, message: "group 'studio-2024' is not defined")
    }

    @Test("a group listing an unknown SKU is reported at the SKU")
    func unknownGroupSKU() {
        let text = CatalogText.with(#""skus": ["studio-standard"]"#, #""skus": ["studio-standard", "studio-lite"]"#)
        expectOneProblem(text, path: "$.groups[1].skus[1]", at: #""studio-lite""#, message: "SKU 'studio-lite' is not defined")
    }

    @Test("a group including itself is reported")
    func selfInclude() {
        let text = CatalogText.with(#""includes": []"#, #""includes": ["studio-2025"]"#)
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.path == "$.groups[1].includes[0]")
        #expect(found.first?.message.contains("cannot include itself") == true)
    }

    @Test("a cycle of includes is reported once, at a group of the cycle")
    func includeCycle() {
        let text = CatalogText.with(#""includes": []"#, #""includes": ["studio-2026"]"#)
        let found = problems(text)
        #expect(found.count == 1, "\(found)")
        guard let problem = found.first else { return }
        #expect(problem.message.contains("cycle"))
        #expect(problem.message.contains("studio-2025 -> studio-2026 -> studio-2025"))
        #expect(problem.path == "$.groups[id=studio-2025]")
        let place = CatalogText.position(of: #"{"id": "studio-2025""#, in: text)
        #expect(problem.line == place.line)
        #expect(problem.column == place.column)
    }

    @Test("a longer cycle is reported once")
    func longerCycle() {
        var text = CatalogText.with(#""includes": []"#, #""includes": ["studio-2024"]"#)
        text = CatalogText.with(#"{"id": "studio-2025", "skus": ["studio-standard"], "includes": ["studio-2024"]}"#,
                                #"{"id": "studio-2025", "skus": ["studio-standard"], "includes": ["studio-2024"]},\#n    {"id": "studio-2024", "skus": [], "includes": ["studio-2026"]}"#,
                                in: text)
        let found = problems(text)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.message.contains("cycle") == true)
    }

    @Test("a value of the wrong type is reported at the value")
    func wrongType() {
        expectOneProblem(CatalogText.with(#""rearmLimit": 5"#, #""rearmLimit": "five""#),
                         path: "$.rearmLimit", at: #""five""#, message: "must be a whole number, is a string")
        expectOneProblem(CatalogText.with(#""client": {"threshold": 25}"#, #""client": {"threshold": 2.5}"#),
                         path: "$.classes.client.threshold", at: "2.5", message: "must be a whole number")
        expectOneProblem(CatalogText.with(#""name": "Studio Pro""#, #""name": 7"#),
                         path: "$.products[0].skus[0].name", at: "7,", message: "must be a string, is a number")
        expectOneProblem(CatalogText.with(#""skus": ["studio-standard"]"#, #""skus": "studio-standard""#),
                         path: "$.groups[1].skus", at: #""studio-standard", "includes""#, message: "must be an array, is a string")
        expectOneProblem(CatalogText.with(#""vendor": {"id": "acme", "name": "Acme"}"#, #""vendor": ["acme"]"#),
                         path: "$.vendor", at: #"["acme"]"#, message: "must be an object, is an array")
        expectOneProblem(CatalogText.with(#""includes": []"#, #""includes": [true]"#),
                         path: "$.groups[1].includes[0]", at: "true", message: "must be a group id string, is a boolean")
    }

    @Test("a missing field is reported at the object that lacks it")
    func missingField() {
        let text = CatalogText.with(#"{"id": "studio-pro", "name": "Studio Pro", "class": "client""#, #"{"id": "studio-pro", "class": "client""#)
        expectOneProblem(text, path: "$.products[0].skus[0]", at: #"{"id": "studio-pro""#, message: "\"name\" is missing")
        let noService = CatalogText.with(#"  "service": "tally",\#n"#, "")
        expectOneProblem(noService, path: "$", at: "{", message: "\"service\" is missing")
        let noIncludes = CatalogText.with(#", "includes": []"#, "")
        expectOneProblem(noIncludes, path: "$.groups[1]", at: #"{"id": "studio-2025""#, message: "\"includes\" is missing")
    }

    @Test("values out of range are reported")
    func outOfRange() {
        expectOneProblem(CatalogText.with(#""server": {"threshold": 5}"#, #""server": {"threshold": 0}"#),
                         path: "$.classes.server.threshold", at: "0}", message: "must be at least 1, is 0")
        expectOneProblem(CatalogText.with(#""rearmLimit": 5"#, #""rearmLimit": -1"#),
                         path: "$.rearmLimit", at: "-1", message: "must be at least 0")
        expectOneProblem(CatalogText.with(#""version": 1"#, #""version": 2"#),
                         path: "$.version", at: "2,", message: "catalog version 1, not 2")
        expectOneProblem(CatalogText.with(#""service": "tally""#, #""service": "_tally""#),
                         path: "$.service", at: #""_tally""#, message: "DNS service label")
        expectOneProblem(CatalogText.with(#""service": "tally""#, #""service": "a-very-long-service-name""#),
                         path: "$.service", at: #""a-very"#, message: "DNS service label")
        expectOneProblem(CatalogText.with(#""name": "Acme""#, #""name": "  ""#),
                         path: "$.vendor.name", at: #""  ""#, message: "must not be empty")
        expectOneProblem(CatalogText.with(#""id": "acme""#, #""id": "Acme Corp""#),
                         path: "$.vendor.id", at: #""Acme Corp""#, message: "may use only")
    }

    @Test("empty classes are reported")
    func emptyClasses() {
        let text = CatalogText.with("""
            "classes": {
                "client": {"threshold": 25},
                "server": {"threshold": 5}
              },
            """, #""classes": {},"#)
        let found = problems(text)
        #expect(found.contains { $0.path == "$.classes" && $0.message.contains("at least one class") })
        // Every SKU's class is now unknown, too.
        #expect(found.filter { $0.path.hasSuffix(".class") }.count == 3)
    }

    @Test("a root that is not an object is reported at line 1")
    func rootNotObject() {
        let found = problems("[1, 2]")
        #expect(found.count == 1)
        #expect(found.first?.path == "$")
        #expect(found.first?.line == 1)
        #expect(found.first?.column == 1)
        #expect(found.first?.message == "must be an object, is an array")
    }

    @Test("a JSON syntax error is reported with its line and column")
    func syntaxError() {
        let text = CatalogText.with(#""vendor": {"id": "acme", "name": "Acme"}"#, #""vendor": {"id": "acme",, "name": "Acme"}"#)
        let found = problems(text)
        #expect(found.count == 1)
        let place = CatalogText.position(of: ",,", in: text)
        #expect(found.first?.path == "$")
        #expect(found.first?.line == place.line)
        #expect(found.first?.column == place.column + 1)
        #expect(found.first?.message.hasPrefix("not valid JSON") == true)
    }

    @Test("JSON syntax errors name their place",
          arguments: [
              ("{\"a\": 1", 1, 8),
              ("{\n  \"a\": tru\n}", 2, 8),
              ("{\n  \"a\": 1\n} x", 3, 3),
              ("{\"a\": 1, \"a\": 2}", 1, 13),
              ("{\n\n    \"a\": \"unterminated", 3, 23),
              ("\n\n\n  @", 4, 3),
              ("{\"a\": [1 2]}", 1, 10),
              ("", 1, 1),
          ] as [(String, Int, Int)])
    func syntaxErrorPositions(_ text: String, _ line: Int, _ column: Int) {
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.line == line, "\(found)")
        #expect(found.first?.column == column, "\(found)")
    }

    @Test("numbers RFC 8259 forbids are syntax errors at their place", arguments: ["05", "5.", "-", "1e400", "+5", ".5"])
    func strictNumbers(_ number: String) {
        let text = CatalogText.with(#""rearmLimit": 5"#, #""rearmLimit": \#(number)"#)
        let place = CatalogText.position(of: "\"rearmLimit\": \(number)", in: text)
        let found = problems(text)
        #expect(found.count == 1)
        let problem = found.first
        #expect(problem?.line == place.line, "\(found)")
        #expect(problem?.message.hasPrefix("not valid JSON") == true, "\(found)")
    }

    @Test("columns count characters, not UTF-8 bytes")
    func columnsCountCharacters() {
        let text = CatalogText.with(#""name": "Acme"}"#, #""name": "Acmé", "id2": }"#)
        let found = problems(text)
        #expect(found.count == 1)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false)[2]
        let characterColumn = line.distance(from: line.startIndex, to: line.lastIndex(of: "}")!) + 1
        #expect(found.first?.line == 3)
        #expect(found.first?.column == characterColumn, "\(found)")
    }

    @Test("JSON nested too deep is refused, not a crash")
    func deepNesting() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("nested more than") == true)
    }

    @Test("several problems in one file are all reported, in file order")
    func severalProblems() {
        var text = CatalogText.with(#""rearmLimit": 5"#, #""rearmLimit": "five""#)
        text = CatalogText.with(#""name": "Studio Standard", "class": "client""#, #""name": "Studio Standard", "class": "desktop""#, in: text)
        text = CatalogText.with(CatalogText.keys[2].description, CatalogText.hostKey.description, in: text)
        text = CatalogText.with(#""includes": ["studio-2025"]"#, #""includes": ["studio-2024"]"#, in: text)
        text = CatalogText.with(#"{"id": "studio-2025", "skus": ["studio-standard"], "includes": []}"#,
                                #"{"id": "studio-2025", "includes": []}"#, in: text)
        let found = problems(text)
        #expect(found.map(\.path) == [
            "$.rearmLimit",
            "$.products[0].skus[1].class",
            "$.products[1].skus[0].setupKey",
            "$.groups[0].includes[0]",
            "$.groups[1]",
        ])
        #expect(found.map(\.line) == found.map(\.line).sorted())
        #expect(found.allSatisfy { $0.line > 1 })
    }

    @Test("a duplicate group id is reported")
    func duplicateGroup() {
        let text = CatalogText.with(#"{"id": "studio-2025", "skus""#, #"{"id": "studio-2026", "skus""#)
        let found = problems(text)
        #expect(found.contains { $0.path == "$.groups[1].id" && $0.message.contains("defined twice") })
    }

    @Test("expand(group:) follows includes and lists each SKU once with its class")
    func expandFollowsIncludes() throws {
        let catalog = try Catalog.load(CatalogText.valid).get()
        #expect(catalog.expand(group: "studio-2026") == [
            CertifiedSKU(sku: "studio-pro", class: "client"),
            CertifiedSKU(sku: "studio-server", class: "server"),
            CertifiedSKU(sku: "studio-standard", class: "client"),
        ])
        #expect(catalog.expand(group: "studio-2025") == [CertifiedSKU(sku: "studio-standard", class: "client")])
        #expect(catalog.expand(group: "nope") == [])
        #expect(catalog.thresholds(for: catalog.expand(group: "studio-2026")) == ["client": 25, "server": 5])
        #expect(catalog.thresholds(for: catalog.expand(group: "studio-2025")) == ["client": 25])
    }

    @Test("expand(group:) follows includes transitively and terminates on a cycle")
    func expandTransitiveAndCyclic() throws {
        var catalog = try Catalog.load(CatalogText.valid).get()
        // studio-2027 → studio-2026 → studio-2025, and studio-2025 → studio-2027 closes a cycle.
        var newest = try #require(catalog.group("studio-2026"))
        newest.id = "studio-2027"
        newest.skus = []
        newest.includes = ["studio-2026"]
        catalog.groups.append(newest)
        #expect(catalog.expand(group: "studio-2027").map(\.sku) == ["studio-pro", "studio-server", "studio-standard"])
        catalog.groups[1].includes = ["studio-2027"]
        #expect(catalog.expand(group: "studio-2025").map(\.sku) == ["studio-pro", "studio-server", "studio-standard"])
        // A dangling SKU id in a group is dropped, not invented.
        catalog.groups[1].skus.append("ghost")
        #expect(!catalog.expand(group: "studio-2025").map(\.sku).contains("ghost"))
    }

    @Test("a setup key finds its SKU, in any typed form")
    func skuForSetupKey() throws {
        let catalog = try Catalog.load(CatalogText.valid).get()
        #expect(catalog.sku(forSetupKey: CatalogText.keys[1])?.id == "studio-standard")
        #expect(catalog.sku(forSetupKey: try ProductKey(CatalogText.keys[2].normalized.lowercased()))?.id == "studio-server")
        #expect(catalog.sku(forSetupKey: CatalogText.keys[3]) == nil)
        let profile = ClientProfile(catalog: catalog, roots: [])
        #expect(profile.sku(forSetupKey: CatalogText.keys[0])?.id == "studio-pro")
        #expect(profile.rearmLimit == 5)
        #expect(profile.service == "tally")
        #expect(profile.vendor == "acme")
    }
}
