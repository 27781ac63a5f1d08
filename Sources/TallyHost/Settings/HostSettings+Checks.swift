import Foundation
import TallyCore
import TallyDNS
import TallyFiles
import TallyVendorLink

/// The set-time checks of settings that name a file (`tally host set` runs them, a file read at start does
/// not): a file that would only fail later, at the first DNS update or renewal, is refused when it is set, and
/// the setting stays as it was.
extension HostSettings {
    /// `path` as the host reads it: relative paths are relative to the state directory.
    static func resolve(_ path: String, in directory: StateDirectory) -> String {
        path.hasPrefix("/") ? path : directory.file(path).path
    }

    /// `dns-key-file`: the file parses as a `tsig-keygen` key file and only its owner may read it.
    static func checkDNSKeyFile(_ file: String?, context: SettingContext) throws(TallyError) {
        guard let file else { return }
        let path = resolve(file, in: context.directory)
        guard FileManager.default.fileExists(atPath: path) else {
            throw TallyError(.usageError, "\(path) does not exist",
                             remedy: "Make the key with `tsig-keygen -a hmac-sha256 tally-host > \(path)` (mode 600), grant it in the zone, then set it again.")
        }
        do {
            _ = try TSIGKey.loadAll(path: path)
        } catch {
            throw TallyError(.usageError, error.message,
                             remedy: error.remedy ?? "Give the file `tsig-keygen` wrote: `key \"NAME\" { algorithm hmac-sha256; secret \"…\"; };`.")
        }
    }

    /// `vendor-ca-file`: the file holds PEM certificates a TLS client can trust.
    static func checkPEMFile(_ file: String?, context: SettingContext) throws(TallyError) {
        guard let file else { return }
        try VendorConnectionSettings.checkCAFile(resolve(file, in: context.directory))
    }
}
