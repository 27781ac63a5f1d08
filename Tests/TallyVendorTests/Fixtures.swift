import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyVendor

/// A temporary directory removed when the test's fixture goes away.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A vendor and a host in temporary directories, the host activated.
struct ActivatedHost {
    let temp = TemporaryDirectory()
    let vendor: VendorAuthority
    let host: HostIdentity
    let hostKey: ProductKey
    let certificate: HostCertificate

    init(group: String = "studio-2026", maxHosts: Int = 6, now: Date = Date()) throws {
        vendor = VendorAuthority(directory: StateDirectory(temp.path("vendor")))
        _ = try vendor.initialise(vendorID: "acme", vendorName: "Acme")
        hostKey = try vendor.issueHostKey(group: group, maxHosts: maxHosts, now: now)
        host = HostIdentity(directory: StateDirectory(temp.path("host")))
        _ = try host.installKey(hostKey.description, vendorRoots: [try vendor.publicKey()], now: now)
        let activation = try vendor.activateHost(request: try host.activationRequest(now: now), now: now)
        certificate = try host.installCertificate(activation.certificate, now: now)
    }
}
