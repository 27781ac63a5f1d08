import Foundation
import TallyCore

/// How the vendor answers a usage report sent online, given the reports of that host it already acknowledged.
/// A pure rule: the ledger reads the neighbours of the report's `seq` and applies it inside one transaction.
///
/// Once the vendor holds a report, nobody can replace it: another report at that `seq` is a rewritten history, a
/// report whose `prv` is not the acknowledged predecessor's hash (or that the acknowledged successor does not name)
/// breaks the chain. Both are refused and flagged. A report whose predecessor the vendor never received is
/// accepted, and the missing numbers show as a gap.
public enum ReportChainRule {
    /// An acknowledged report as the rule needs it.
    public struct Link: Sendable, Equatable {
        public var seq: Int
        public var hash: String
        public var prv: String
        public var receipt: String

        public init(seq: Int, hash: String, prv: String, receipt: String) {
            self.seq = seq
            self.hash = hash
            self.prv = prv
            self.receipt = receipt
        }
    }

    public enum Decision: Sendable, Equatable {
        /// New and consistent with its neighbours: acknowledge it.
        case accept
        /// Exactly the report already acknowledged (a re-send after a lost answer): the same receipt again.
        case repeated(receipt: String)
        /// Refused and flagged, with the code and message.
        case refuse(ResultCode, String)
    }

    /// Decides for the report numbered `seq` with hash `hash` and previous-report hash `prv` of the chain `hostID` (a host id, or `site:ID`), given the
    /// acknowledged reports at `seq - 1`, `seq` and `seq + 1` (each `nil` when the vendor holds none).
    public static func decide(hostID: String, seq: Int, hash: String, prv: String, before: Link?, at: Link?, after: Link?) -> Decision {
        let hostID = UsageReportAudit.chainName(hostID)
        if let at {
            if at.hash == hash { return .repeated(receipt: at.receipt) }
            return .refuse(.reportRewritten, "\(hostID): report \(seq) was acknowledged with hash \(at.hash.prefix(16))…; this is another report \(hash.prefix(16))… with the same number (a rewritten history)")
        }
        if seq == 1, !prv.isEmpty {
            return .refuse(.reportChainBroken, "\(hostID): report 1 names a previous report \(prv.prefix(16))…; the first report of a chain names none")
        }
        if let before, before.hash != prv {
            return .refuse(.reportChainBroken, "\(hostID): report \(seq) does not extend acknowledged report \(before.seq): its prv is \(prv.prefix(16))…, that report's hash is \(before.hash.prefix(16))…")
        }
        if let after, after.prv != hash {
            return .refuse(.reportChainBroken, "\(hostID): acknowledged report \(after.seq) does not follow this report \(seq) (its prv names \(after.prv.prefix(16))…)")
        }
        return .accept
    }
}
