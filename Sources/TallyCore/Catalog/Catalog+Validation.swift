import Foundation

/// One problem in a catalog file, with its place: a JSON path and the line and column where it starts.
public struct CatalogProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "line \(line), column \(column), \(path): \(message)" }
}

/// Every problem found in a catalog.
public struct CatalogProblems: Error, Sendable, Equatable {
    public var problems: [CatalogProblem]
}

extension Catalog {
    /// Parses and checks a catalog, collecting every problem rather than stopping at the first.
    public static func load(_ text: String) -> Result<Catalog, CatalogProblems> {
        let root: JSONNode
        do {
            root = try JSONParser.parse(text)
        } catch {
            return .failure(CatalogProblems(problems: [CatalogProblem(path: "$", line: error.line, column: error.column, message: "not valid JSON: \(error.message)")]))
        }
        var checker = CatalogChecker()
        checker.check(root)
        guard checker.problems.isEmpty else { return .failure(CatalogProblems(problems: checker.problems)) }
        do {
            return .success(try TallyJSON.decode(Catalog.self, from: Data(text.utf8)))
        } catch {
            return .failure(CatalogProblems(problems: [CatalogProblem(path: "$", line: 1, column: 1, message: "could not be read: \(error)")]))
        }
    }
}

/// Walks the parsed JSON once, noting each problem where it is.
struct CatalogChecker {
    var problems: [CatalogProblem] = []

    private mutating func problem(_ node: JSONNode, _ path: String, _ message: String) {
        problems.append(CatalogProblem(path: path, line: node.line, column: node.column, message: message))
    }

    private mutating func member(_ node: JSONNode, _ key: String, _ path: String) -> JSONNode? {
        guard let value = node[key] else {
            problem(node, path, "\"\(key)\" is missing")
            return nil
        }
        return value
    }

    private mutating func string(_ node: JSONNode, _ key: String, _ path: String) -> String? {
        guard let value = member(node, key, path) else { return nil }
        guard case let .string(text) = value.value else {
            problem(value, "\(path).\(key)", "must be a string, is \(value.typeName)")
            return nil
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            problem(value, "\(path).\(key)", "must not be empty")
            return nil
        }
        return text
    }

    private mutating func integer(_ node: JSONNode, _ key: String, _ path: String, atLeast minimum: Int) -> Int? {
        guard let value = member(node, key, path) else { return nil }
        guard case let .number(number) = value.value, number == number.rounded(), abs(number) < 1e9 else {
            problem(value, "\(path).\(key)", "must be a whole number, is \(value.typeName)")
            return nil
        }
        guard Int(number) >= minimum else {
            problem(value, "\(path).\(key)", "must be at least \(minimum), is \(Int(number))")
            return nil
        }
        return Int(number)
    }

    private mutating func array(_ node: JSONNode, _ key: String, _ path: String) -> [JSONNode]? {
        guard let value = member(node, key, path) else { return nil }
        guard case let .array(elements) = value.value else {
            problem(value, "\(path).\(key)", "must be an array, is \(value.typeName)")
            return nil
        }
        return elements
    }

    private mutating func isObject(_ node: JSONNode, _ path: String) -> Bool {
        guard case .object = node.value else {
            problem(node, path, "must be an object, is \(node.typeName)")
            return false
        }
        return true
    }

    private static let idCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789-._")

    private mutating func identifier(_ node: JSONNode, _ key: String, _ path: String) -> String? {
        guard let id = string(node, key, path) else { return nil }
        guard id.allSatisfy({ CatalogChecker.idCharacters.contains($0) }), id.count <= 64 else {
            problem(node[key]!, "\(path).\(key)", "'\(id)' may use only a-z, 0-9, '-', '.' and '_' (at most 64)")
            return nil
        }
        return id
    }

    mutating func check(_ root: JSONNode) {
        guard isObject(root, "$") else { return }
        if let version = integer(root, "version", "$", atLeast: 1), version != 1 {
            problem(root["version"]!, "$.version", "this Tally reads catalog version 1, not \(version)")
        }
        if let vendor = member(root, "vendor", "$"), isObject(vendor, "$.vendor") {
            _ = identifier(vendor, "id", "$.vendor")
            _ = string(vendor, "name", "$.vendor")
            if vendor["url"] != nil, let url = string(vendor, "url", "$.vendor"), VendorURL(url) == nil {
                problem(vendor["url"]!, "$.vendor.url", "'\(url)' is not an https:// URL (http:// only for localhost)")
            }
        }
        if let service = string(root, "service", "$") {
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
            if service.count > 15 || !service.allSatisfy({ allowed.contains($0) }) || service.hasPrefix("-") || service.hasPrefix("_") {
                problem(root["service"]!, "$.service", "a DNS service label is 1 to 15 of a-z, 0-9 and '-' without the leading '_' (\"tally\" gives _tally._tcp)")
            }
        }
        _ = integer(root, "rearmLimit", "$", atLeast: 0)

        var classNames: Set<String> = []
        if let classes = member(root, "classes", "$") {
            if case let .object(members) = classes.value {
                if members.isEmpty { problem(classes, "$.classes", "at least one class is needed") }
                for (name, value) in members {
                    let path = "$.classes.\(name)"
                    classNames.insert(name)
                    if isObject(value, path) { _ = integer(value, "threshold", path, atLeast: 1) }
                }
            } else {
                problem(classes, "$.classes", "must be an object of class name to {\"threshold\": N}, is \(classes.typeName)")
            }
        }

        var skuIDs: Set<String> = []
        var setupKeys: [String: String] = [:]
        var productIDs: Set<String> = []
        for (p, product) in (array(root, "products", "$") ?? []).enumerated() {
            let path = "$.products[\(p)]"
            guard isObject(product, path) else { continue }
            if let id = identifier(product, "id", path), !productIDs.insert(id).inserted {
                problem(product["id"]!, "\(path).id", "product '\(id)' is defined twice")
            }
            _ = string(product, "name", path)
            for (s, sku) in (array(product, "skus", path) ?? []).enumerated() {
                checkSKU(sku, "\(path).skus[\(s)]", classNames: classNames, skuIDs: &skuIDs, setupKeys: &setupKeys)
            }
        }

        checkGroups(root, skuIDs: skuIDs)
    }

    private mutating func checkSKU(_ sku: JSONNode, _ path: String, classNames: Set<String>, skuIDs: inout Set<String>, setupKeys: inout [String: String]) {
        guard isObject(sku, path) else { return }
        let id = identifier(sku, "id", path)
        if let id, !skuIDs.insert(id).inserted { problem(sku["id"]!, "\(path).id", "SKU '\(id)' is defined twice") }
        _ = string(sku, "name", path)
        if let productClass = string(sku, "class", path), !classNames.contains(productClass) {
            problem(sku["class"]!, "\(path).class", "class '\(productClass)' is not in $.classes (known: \(classNames.sorted().joined(separator: ", ")))")
        }
        if let text = string(sku, "setupKey", path) {
            do {
                let key = try ProductKey(text)
                if key.kind != .clientSetup {
                    problem(sku["setupKey"]!, "\(path).setupKey", "is a \(key.kind.displayName), not a client setup key")
                } else if let other = setupKeys[key.normalized] {
                    problem(sku["setupKey"]!, "\(path).setupKey", "the same setup key is already used by SKU '\(other)'")
                } else {
                    setupKeys[key.normalized] = id ?? path
                }
            } catch {
                problem(sku["setupKey"]!, "\(path).setupKey", "not a valid key: \(error.message)")
            }
        }
    }

    private mutating func checkGroups(_ root: JSONNode, skuIDs: Set<String>) {
        let groups = array(root, "groups", "$") ?? []
        var includes: [String: [String]] = [:]
        var groupIDs: [String: JSONNode] = [:]
        for (g, group) in groups.enumerated() {
            guard case .object = group.value, let id = group["id"], case let .string(name) = id.value else { continue }
            if groupIDs[name] != nil { problem(id, "$.groups[\(g)].id", "group '\(name)' is defined twice") }
            groupIDs[name] = group
        }
        for (g, group) in groups.enumerated() {
            let path = "$.groups[\(g)]"
            guard isObject(group, path) else { continue }
            let id = identifier(group, "id", path)
            for (s, skuNode) in (array(group, "skus", path) ?? []).enumerated() {
                guard case let .string(sku) = skuNode.value else {
                    problem(skuNode, "\(path).skus[\(s)]", "must be a SKU id string, is \(skuNode.typeName)")
                    continue
                }
                if !skuIDs.contains(sku) { problem(skuNode, "\(path).skus[\(s)]", "SKU '\(sku)' is not defined in any product") }
            }
            var links: [String] = []
            for (i, includeNode) in (array(group, "includes", path) ?? []).enumerated() {
                guard case let .string(included) = includeNode.value else {
                    problem(includeNode, "\(path).includes[\(i)]", "must be a group id string, is \(includeNode.typeName)")
                    continue
                }
                if groupIDs[included] == nil {
                    problem(includeNode, "\(path).includes[\(i)]", "group '\(included)' is not defined")
                } else if included == id {
                    problem(includeNode, "\(path).includes[\(i)]", "a group cannot include itself")
                } else {
                    links.append(included)
                }
            }
            if let id { includes[id] = links }
        }
        // A cycle of includes is legal to expand but almost surely a mistake: report each once.
        var reported: Set<String> = []
        for start in includes.keys.sorted() {
            if let cycle = findCycle(from: start, includes), reported.insert(cycle.sorted().joined(separator: ",")).inserted, let node = groupIDs[start] {
                problem(node, "$.groups[id=\(start)]", "includes form a cycle: \((cycle + [cycle[0]]).joined(separator: " -> "))")
            }
        }
    }

    private func findCycle(from start: String, _ includes: [String: [String]]) -> [String]? {
        var path: [String] = []
        var visited: Set<String> = []
        func walk(_ node: String) -> [String]? {
            if node == start, !path.isEmpty { return path }
            guard visited.insert(node).inserted else { return nil }
            path.append(node)
            for next in includes[node] ?? [] {
                if let found = walk(next) { return found }
            }
            path.removeLast()
            return nil
        }
        return walk(start)
    }
}
