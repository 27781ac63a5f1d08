import Foundation
import TallyCore

/// The vendor's roots (`roots.json`): the offline root from `vendor init`, the online root `vendor serve` signs
/// with, and every root made by `vendor rotate-root`. Public: only key ids, public keys, roles, states and the
/// statements vouching for each root; the private keys are files of their own.
public struct VendorRoots: Codable, Sendable, Equatable {
    /// What a root signs with.
    public enum Role: String, Codable, Sendable, CaseIterable {
        /// Kept off the network: signs root statements and, where its key is present, offline activations.
        case offline
        /// Signs what `vendor serve` answers: certificates and receipts.
        case online
    }

    public enum Status: String, Codable, Sendable {
        /// The one root of its role that signs.
        case active
        /// Trusted and listed in the client profile, signs nothing: a new root waiting for `use-root`, or the
        /// root a `use-root` replaced.
        case standby
        /// No longer listed nor trusted for new certificates.
        case retired
    }

    public struct Root: Codable, Sendable, Equatable {
        public var kid: String
        public var jwk: JWK
        public var role: Role
        public var status: Status
        /// The private key's file in the state directory (it may be kept elsewhere: the offline root's usually is).
        public var keyFile: String
        public var created: Date
        public var activated: Date?
        public var retired: Date?
        /// Statements (`tally-root+jwt`) by offline roots vouching for this root; none for the first offline root.
        public var statements: [String]
    }

    public var roots: [Root]

    public init(roots: [Root]) { self.roots = roots }

    public func root(_ kid: String) -> Root? { roots.first { $0.kid == kid } }

    /// The root of `role` that signs, if any.
    public func active(_ role: Role) -> Root? { roots.first { $0.role == role && $0.status == .active } }

    /// Every root not retired, oldest first: what the client profile lists and the vendor verifies with.
    public var trusted: [Root] { roots.filter { $0.status != .retired } }

    public func trustedRoots() throws(TokenError) -> TrustedRoots { try TrustedRoots(trusted.map(\.jwk)) }

    /// The statements of every trusted root, as online answers carry them.
    public var statements: [String] { trusted.flatMap(\.statements) }

    /// Makes `kid` the active root of its role; the one it replaces stays trusted as a standby.
    public mutating func use(_ kid: String, now: Date) throws(TallyError) -> Root {
        guard let index = roots.firstIndex(where: { $0.kid == kid }) else { throw Self.unknown(kid, roots) }
        guard roots[index].status != .retired else {
            throw TallyError(.rootInUse, "root \(kid) is retired and cannot sign again", remedy: "Make a new root with `tally vendor rotate-root`.")
        }
        for other in roots.indices where roots[other].role == roots[index].role && roots[other].status == .active && other != index {
            roots[other].status = .standby
        }
        if roots[index].status != .active { roots[index].activated = now }
        roots[index].status = .active
        return roots[index]
    }

    /// Retires `kid`. Refused for the active root of a role and while `unexpired` certificates it signed remain.
    public mutating func retire(_ kid: String, unexpired: Int, lastExpiry: Date?, now: Date) throws(TallyError) -> Root {
        guard let index = roots.firstIndex(where: { $0.kid == kid }) else { throw Self.unknown(kid, roots) }
        let root = roots[index]
        guard root.status != .active else {
            throw TallyError(.rootInUse, "root \(kid) is the active \(root.role.rawValue) root",
                             remedy: "Make another root active first: `tally vendor rotate-root\(root.role == .offline ? " --offline" : "")`, then `tally vendor use-root NEWKID`.")
        }
        guard unexpired == 0 else {
            let until = lastExpiry.map { ISO8601DateFormatter().string(from: $0) } ?? "?"
            throw TallyError(.rootInUse, "root \(kid) signed \(unexpired) certificate(s) that have not expired yet (the last expires \(until))",
                             remedy: "Wait until \(until), or until those hosts renewed with the new root, then retire it.")
        }
        if root.status != .retired { roots[index].retired = now }
        roots[index].status = .retired
        return roots[index]
    }

    static func unknown(_ kid: String, _ roots: [Root]) -> TallyError {
        TallyError(.rootUnknown, "no vendor root \(kid); roots: " + roots.map(\.kid).joined(separator: ", "))
    }
}
