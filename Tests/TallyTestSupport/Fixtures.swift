import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyVendor

/// A temporary directory removed when the test's fixture goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL

    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The size of the file at `path` in bytes; `nil` when there is none.
public func fileSize(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
}

/// A vendor and a host in temporary directories, the host activated.
public struct ActivatedHost {
    public let temp = TemporaryDirectory()
    public let vendor: VendorAuthority
    public let host: HostIdentity
    public let hostKey: ProductKey
    public let certificate: HostCertificate

    public init(group: String = "studio-2026", maxHosts: Int = 6, now: Date = Date(),
                certificateValidity: TimeInterval = Intervals.certificateValidity) throws {
        vendor = VendorAuthority(directory: StateDirectory(temp.path("vendor")))
        _ = try vendor.initialise(vendorID: "acme", vendorName: "Acme")
        hostKey = try vendor.issueHostKey(group: group, maxHosts: maxHosts, now: now)
        host = HostIdentity(directory: StateDirectory(temp.path("host")))
        _ = try host.installKey(hostKey.description, vendorRoots: [try vendor.publicKey()], now: now)
        let activation = try vendor.activateHost(request: try host.activationRequest(now: now), now: now, validity: certificateValidity)
        certificate = try host.installCertificate(activation.certificate, now: now)
    }
}

extension ActivatedHost {
    /// A second host of the same licence (the same host key, so the same `hkh`), activated in `name` under the
    /// fixture's temporary directory: what several hosts sharing one store are.
    public func anotherHost(_ name: String, now: Date = Date()) throws -> HostIdentity {
        let other = HostIdentity(directory: StateDirectory(temp.path(name)))
        _ = try other.installKey(hostKey.description, vendorRoots: [try vendor.publicKey()], now: now)
        let activation = try vendor.activateHost(request: try other.activationRequest(now: now), now: now)
        _ = try other.installCertificate(activation.certificate, now: now)
        return other
    }

    /// The vendor's client profile (roots, SKUs, setup keys).
    public func profile() throws -> ClientProfile {
        ClientProfile(catalog: try vendor.catalog(), roots: [try vendor.publicKey()])
    }

    public func roots() throws -> TrustedRoots { try TrustedRoots([try vendor.publicKey()]) }
}
