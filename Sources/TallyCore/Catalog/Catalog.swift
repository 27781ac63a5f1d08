import Foundation

/// The vendor's product catalog: products, SKUs and their classes, class thresholds, product groups linked by
/// "includes", a public client setup key per SKU, the rearm limit and the DNS service label.
public struct Catalog: Codable, Sendable, Equatable {
    public struct Vendor: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// The vendor's online service (`https://…`), written into every certificate as `vurl` so hosts know
        /// where to renew and report. Optional: without it hosts name the URL themselves.
        public var url: String?
    }

    public struct ProductClass: Codable, Sendable, Equatable {
        /// Distinct machines needed before the host activates any SKU of this class.
        public var threshold: Int
    }

    public struct SKU: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var `class`: String
        /// The public client setup key of this SKU.
        public var setupKey: String
    }

    public struct Product: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var skus: [SKU]
    }

    public struct Group: Codable, Sendable, Equatable {
        public var id: String
        public var skus: [String]
        /// Groups whose SKUs this group's host keys may activate too.
        public var includes: [String]
    }

    public var version: Int
    public var vendor: Vendor
    /// The DNS service label: clients look up `_<service>._tcp.<domain>`.
    public var service: String
    public var rearmLimit: Int
    public var classes: [String: ProductClass]
    public var products: [Product]
    public var groups: [Group]

    public var allSKUs: [SKU] { products.flatMap(\.skus) }

    public func sku(_ id: String) -> SKU? { allSKUs.first { $0.id == id } }

    public func group(_ id: String) -> Group? { groups.first { $0.id == id } }

    /// The SKU whose setup key this is.
    public func sku(forSetupKey key: ProductKey) -> SKU? {
        allSKUs.first { (try? ProductKey($0.setupKey))?.normalized == key.normalized }
    }

    /// Every SKU a host key for `group` may activate, following "includes" links; each SKU once, sorted.
    public func expand(group id: String) -> [CertifiedSKU] {
        var seen: Set<String> = []
        var skuIDs: Set<String> = []
        var pending = [id]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted, let group = group(next) else { continue }
            skuIDs.formUnion(group.skus)
            pending.append(contentsOf: group.includes)
        }
        return skuIDs.sorted().compactMap { id in sku(id).map { CertifiedSKU(sku: $0.id, class: $0.class) } }
    }

    /// Thresholds of the classes among `skus`.
    public func thresholds(for skus: [CertifiedSKU]) -> [String: Int] {
        var result: [String: Int] = [:]
        for sku in skus { result[sku.class] = classes[sku.class]?.threshold }
        return result
    }

    /// The thresholds of the starter catalog's classes, as in KMS: 25 distinct machines for client class, 5 for
    /// server class. A vendor's catalog may set others; `tally explain C004F038` names these.
    public static let defaultThresholds: [String: Int] = ["client": 25, "server": 5]

    /// A starter catalog with fresh setup keys, for `tally vendor init`.
    public static func starter(vendorID: String, vendorName: String) -> Catalog {
        func sku(_ id: String, _ name: String, _ productClass: String) -> SKU {
            SKU(id: id, name: name, class: productClass, setupKey: ProductKey.generate(.clientSetup).description)
        }
        return Catalog(
            version: 1,
            vendor: Vendor(id: vendorID, name: vendorName),
            service: "tally",
            rearmLimit: 5,
            classes: defaultThresholds.mapValues { ProductClass(threshold: $0) },
            products: [
                Product(id: "studio", name: "Studio", skus: [
                    sku("studio-pro", "Studio Professional", "client"),
                    sku("studio-standard", "Studio Standard", "client"),
                ]),
                Product(id: "studio-server", name: "Studio Server", skus: [
                    sku("studio-server", "Studio Server", "server"),
                ]),
            ],
            groups: [
                Group(id: "studio-2026", skus: ["studio-pro", "studio-server"], includes: ["studio-2025"]),
                Group(id: "studio-2025", skus: ["studio-standard"], includes: []),
            ]
        )
    }
}
