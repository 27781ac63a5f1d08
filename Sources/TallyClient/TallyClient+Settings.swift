import Foundation
import TallyCore
import TallyFiles

extension TallyClient {
    /// Pins the activation host (`slmgr /skms`): `host`, `host:port`, `[v6]:port`. A pinned host overrides
    /// discovery; one that does not answer is C004F039.
    @discardableResult
    public func setHost(_ text: String) throws(TallyError) -> ClientSettings {
        let address = try HostAddress(parsing: text)
        return try updateSettings { $0.pinnedHost = address }
    }

    /// Clears the pinned host (`slmgr /ckms`): the client goes back to discovery.
    @discardableResult
    public func clearHost() throws(TallyError) -> ClientSettings {
        try updateSettings { $0.pinnedHost = nil }
    }

    /// Sets the domain to discover hosts in (`slmgr /skms-domain`) instead of the resolver's search list.
    @discardableResult
    public func setDomain(_ domain: String) throws(TallyError) -> ClientSettings {
        var name = domain.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.count <= 253,
              labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F } })
        else {
            throw TallyError(.usageError, "'\(domain)' is not a DNS domain name",
                             remedy: "Give a domain such as `corp.example.com`: labels of letters, digits and hyphens separated by dots.")
        }
        return try updateSettings { $0.domain = name }
    }

    /// Clears the discovery domain (`slmgr /ckms-domain`).
    @discardableResult
    public func clearDomain() throws(TallyError) -> ClientSettings {
        try updateSettings { $0.domain = nil }
    }

    /// Turns host caching on (`slmgr /skhc`, the default) or off (`slmgr /ckhc`, which also forgets the
    /// cached host).
    @discardableResult
    public func setHostCaching(_ enabled: Bool) throws(TallyError) -> ClientSettings {
        try updateSettings {
            $0.hostCaching = enabled
            if !enabled { $0.cachedHost = nil }
        }
    }

    func updateSettings(_ change: (inout ClientSettings) -> Void) throws(TallyError) -> ClientSettings {
        try locked { () throws(TallyError) -> ClientSettings in
            var settings = try readSettings()
            change(&settings)
            try directory.writeJSON(settings, to: Self.settingsFile)
            return settings
        }
    }
}
