

/// What a vendor's application embeds so its clients can work: the vendor's trusted roots, the DNS service
/// label, the rearm limit and the setup key of each SKU. Nothing in it is secret.
public struct ClientProfile: Codable, Sendable, Equatable {
    public struct SKU: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var `class`: String
        public var setupKey: String
    }

    public var vendor: String
    public var roots: [JWK]
    public var service: String
    public var rearmLimit: Int
    public var skus: [SKU]

    public init(catalog: Catalog, roots: [JWK]) {
        vendor = catalog.vendor.id
        self.roots = roots
        service = catalog.service
        rearmLimit = catalog.rearmLimit
        skus = catalog.allSKUs.map { SKU(id: $0.id, name: $0.name, class: $0.class, setupKey: $0.setupKey) }
    }
}

extension ClientProfile {
    /// The SKU whose setup key this is.
    public func sku(forSetupKey key: ProductKey) -> SKU? {
        skus.first { (try? ProductKey($0.setupKey))?.normalized == key.normalized }
    }

    public func trustedRoots() throws(TokenError) -> TrustedRoots { try TrustedRoots(roots) }
}
