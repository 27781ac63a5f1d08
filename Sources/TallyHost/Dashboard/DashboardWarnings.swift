import Foundation
import TallyCore
import TallyStore

/// One warning on the dashboard: what is wrong, and what to do.
public struct DashboardWarning: Sendable, Equatable {
    public enum Level: String, Sendable { case warning, error }
    public enum Kind: String, Sendable { case belowThreshold, dnsPublishFailing, clonedImage, certificateExpiring, notActivated }

    public var kind: Kind
    public var level: Level
    public var text: String
    public var remedy: String
}

/// The rules behind the warnings, as a plain function of what the host knows and the time.
public enum DashboardWarnings {
    public struct Inputs: Sendable {
        public var classes: [(name: String, current: Int, required: Int)]
        public var activated: Bool
        public var problem: String?
        public var certificateExpires: Date?
        /// The newest 12293 (DNS publishing failed) and 12294 (succeeded) events.
        public var lastPublishFailure: StoredEvent?
        public var lastPublishSuccess: StoredEvent?
        public var clones: [ClonedImage]

        public init(classes: [(name: String, current: Int, required: Int)], activated: Bool, problem: String?, certificateExpires: Date?,
                    lastPublishFailure: StoredEvent?, lastPublishSuccess: StoredEvent?, clones: [ClonedImage]) {
            self.classes = classes
            self.activated = activated
            self.problem = problem
            self.certificateExpires = certificateExpires
            self.lastPublishFailure = lastPublishFailure
            self.lastPublishSuccess = lastPublishSuccess
            self.clones = clones
        }
    }

    public static let certificateWarningDays = 30

    public static func evaluate(_ inputs: Inputs, now: Date) -> [DashboardWarning] {
        var warnings: [DashboardWarning] = []
        if !inputs.activated {
            warnings.append(DashboardWarning(kind: .notActivated, level: .error,
                                             text: "The host is not activated: every client gets C004F041. " + (inputs.problem ?? ""),
                                             remedy: "Activate it: `tally host activate --offline-request FILE`, then install the vendor's certificate and send SIGHUP."))
        } else if let expires = inputs.certificateExpires, let warning = certificateExpiry(expires: expires, now: now) {
            warnings.append(warning)
        }
        for entry in inputs.classes where entry.current < entry.required {
            warnings.append(DashboardWarning(kind: .belowThreshold, level: .warning,
                                             text: "Class \(entry.name): \(entry.current) of \(entry.required) machines. Clients of this class get C004F038 until \(entry.required) distinct machines asked within 30 days.",
                                             remedy: "Let more machines ask (`tally client ato`), or check that clients find this host (`tally client dli`, DNS)."))
        }
        if let failure = inputs.lastPublishFailure, failure.seq > (inputs.lastPublishSuccess?.seq ?? 0) {
            let fields = failure.event.fields
            let domain = fields["domain"].map { " in \($0)" } ?? ""
            let code = (fields["rcode"] ?? fields["failure"]).map { " (\($0))" } ?? ""
            warnings.append(DashboardWarning(kind: .dnsPublishFailing, level: .warning,
                                             text: "DNS publishing is failing\(domain)\(code) since \(DashboardFormat.time(failure.event.time)): \(fields["message"] ?? "")",
                                             remedy: fields["remedy"] ?? "See `tally host dns show` and event 12293; clients that rely on DNS will not find this host."))
        }
        for clone in inputs.clones {
            warnings.append(DashboardWarning(kind: .clonedImage, level: .warning,
                                             text: "Cloned image: CMID \(clone.cmid) was sent by \(clone.machineCount) machines (\(DashboardWarnings.names(clone))). They count as one.",
                                             remedy: CloneDetectionService.remedy))
        }
        return warnings
    }

    /// The warning of a certificate that ends within ``certificateWarningDays`` of `now` (the dashboard and
    /// `tally host status` show it), or `nil`.
    public static func certificateExpiry(expires: Date, now: Date) -> DashboardWarning? {
        let left = expires.timeIntervalSince(now)
        guard left < Double(certificateWarningDays) * 86_400 else { return nil }
        let days = max(0, Int(left / 86_400))
        return DashboardWarning(kind: .certificateExpiring, level: days < 7 ? .error : .warning,
                                text: "The host certificate expires in \(days) day(s), on \(DashboardFormat.time(expires)); tickets never outlive it.",
                                remedy: "A serving host that knows the vendor's URL renews it by itself (events 12301 renewed, 12302 failed with the reason: "
                                    + "`tally host events --id 12302`); renew now with `tally host renew`, or offline with `tally host activate --offline-request FILE` "
                                    + "(free for the same key pair), then `systemctl reload tally-host`.")
    }

    /// The machines a warning names: the newest few, and how many more there are.
    static func names(_ clone: ClonedImage) -> String {
        let names = clone.machines.map(\.machine).joined(separator: ", ")
        let more = clone.machineCount - clone.machines.count
        return more > 0 ? "\(names) and \(more) more" : names
    }
}

enum DashboardFormat {
    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: date) + " UTC"
    }

    static func day(_ day: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400))
    }
}
