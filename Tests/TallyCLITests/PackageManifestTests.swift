import Foundation
import Testing

/// Package.swift declares every module the code imports: a target that imports a module it does not list builds
/// only while some other target happens to pull that module in (and MemberImportVisibility may then refuse it).
@Suite("Packaging: Package.swift declares what each target imports")
struct PackageManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Modules of the toolchain and the OS, which no target declares.
    static let system: Set<String> = ["Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin", "Testing", "XCTest"]

    struct Target {
        var name: String
        var directory: String
        var dependencies: Set<String>
    }

    /// Each target of the manifest: its name, its directory (`path:` or the default) and the modules it lists.
    static func targets() throws -> [Target] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try Regex(#"\.(target|executableTarget|testTarget)\("#)
        let starts = manifest.matches(of: start)
        var targets: [Target] = []
        for (index, match) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1].range.lowerBound : manifest.endIndex
            let block = String(manifest[match.range.lowerBound..<end])
            let kind = String(match.output[1].substring ?? "")
            guard let name = block.firstMatch(of: try Regex(#"name: "([^"]+)""#))?.output[1].substring.map(String.init) else { continue }
            let path = block.firstMatch(of: try Regex(#"path: "([^"]+)""#))?.output[1].substring.map(String.init)
            var dependencies: Set<String> = []
            if let open = block.range(of: "dependencies: ["), let close = block[open.upperBound...].firstIndex(of: "]") {
                let list = block[open.upperBound..<close]
                for product in list.matches(of: try Regex(#"\.product\(name: "([^"]+)""#)) {
                    dependencies.insert(String(product.output[1].substring ?? ""))
                }
                let withoutProducts = list.replacing(try Regex(#"\.product\([^)]*\)"#), with: "")
                for plain in withoutProducts.matches(of: try Regex(#""([^"]+)""#)) {
                    dependencies.insert(String(plain.output[1].substring ?? ""))
                }
            }
            targets.append(Target(name: name, directory: path ?? (kind == "testTarget" ? "Tests/\(name)" : "Sources/\(name)"), dependencies: dependencies))
        }
        return targets
    }

    /// The modules the Swift files under `directory` import.
    static func imports(in directory: String) throws -> [String: String] {
        var found: [String: String] = [:]
        let pattern = try Regex(#"(?m)^\s*(?:@testable |@_exported |package |public |internal )?import (?:struct |enum |class |protocol |func |var )?([A-Za-z_][A-Za-z0-9_]*)"#)
        let base = root.appendingPathComponent(directory)
        guard let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [:] }
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                found[String(match.output[1].substring ?? ""), default: file.lastPathComponent] = file.lastPathComponent
            }
        }
        return found
    }

    @Test("every module a target imports is the target itself, a system module, or listed in its dependencies")
    func importsAreDeclared() throws {
        let targets = try Self.targets()
        #expect(targets.count >= 15, "the manifest's targets were not found: \(targets.map(\.name))")
        #expect(targets.contains { $0.name == "TallyHost" && $0.dependencies.contains("CoreMetrics") })
        for target in targets {
            let imported = try Self.imports(in: target.directory)
            let cTarget = (FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(target.directory).path)?.allObjects as? [String] ?? [])
                .contains { $0.hasSuffix(".c") }
            #expect(!imported.isEmpty || cTarget || target.directory.hasSuffix("Interop"), "\(target.name): no Swift file found in \(target.directory)")
            for (module, file) in imported.sorted(by: { $0.key < $1.key })
            where module != target.name && !Self.system.contains(module) && !target.dependencies.contains(module) {
                Issue.record("\(target.name) imports \(module) (\(file)) but Package.swift does not list it")
            }
        }
    }
}
