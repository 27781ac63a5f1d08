import TallyCore

/// How one check of ``TallyClient/doctor(sku:now:)`` came out.
public enum DoctorStatus: String, Codable, Sendable {
    /// Nothing wrong was found.
    case pass = "PASS"
    /// Something deserves attention, or the check could not be made because an earlier one failed.
    case warn = "WARN"
    /// Activation does not work, or will not, until this is fixed.
    case fail = "FAIL"
}

/// The checks of the checklist, in the order they run.
public enum DoctorCheckName: String, Codable, Sendable, CaseIterable {
    /// A client setup key of a SKU in the profile is installed.
    case key
    /// Name servers are configured (skipped when a host is pinned).
    case nameServers = "name-servers"
    /// `_<service>._tcp.<domain>` has SRV records, for each domain searched.
    case srvRecords = "srv-records"
    /// Each SRV target (or the pinned host) resolves and answers on its port.
    case targets
    /// The host's certificate, from its signed answer, verifies against the vendor's roots and covers the SKU.
    case hostCertificate = "host-certificate"
    /// The host's count for the SKU's class against the class threshold.
    case count
    /// This machine's clock against the host's.
    case clockSkew = "clock-skew"
    /// The result of the newest 12289 event.
    case lastResult = "last-result"
    /// A host pinned with `skms` while DNS names hosts.
    case pinnedHost = "pinned-host"
}

/// One line of `tally doctor`: what was checked, how it came out, the code an administrator can search for,
/// what was found and what to do.
public struct DoctorFinding: Codable, Sendable, Equatable {
    public var name: DoctorCheckName
    public var status: DoctorStatus
    /// The result code of the condition found (KMS's numbering); `nil` when there is nothing to name.
    public var code: ResultCode?
    /// What was found, in a sentence or two.
    public var finding: String
    /// What to do: the code's remedy from the catalog, or one fitted to the finding; `nil` on a PASS.
    public var remedy: String?
    /// A further hint for a likely mistake (a host key on a client).
    public var hint: String?

    public init(_ name: DoctorCheckName, _ status: DoctorStatus, code: ResultCode?, finding: String, remedy: String? = nil,
                hint: String? = nil) {
        self.name = name
        self.status = status
        self.code = code
        self.finding = finding
        self.remedy = status == .pass ? remedy : remedy ?? code?.info?.remedy
        self.hint = hint
    }

    /// Nothing wrong.
    static func pass(_ name: DoctorCheckName, _ finding: String) -> DoctorFinding {
        DoctorFinding(name, .pass, code: nil, finding: finding)
    }

    static func warn(_ name: DoctorCheckName, _ code: ResultCode?, _ finding: String, remedy: String? = nil) -> DoctorFinding {
        DoctorFinding(name, .warn, code: code, finding: finding, remedy: remedy)
    }

    static func fail(_ name: DoctorCheckName, _ code: ResultCode, _ finding: String, remedy: String? = nil, hint: String? = nil) -> DoctorFinding {
        DoctorFinding(name, .fail, code: code, finding: finding, remedy: remedy, hint: hint)
    }

    /// A check that could not be made because an earlier one failed.
    static func notChecked(_ name: DoctorCheckName, because reason: String) -> DoctorFinding {
        DoctorFinding(name, .warn, code: nil, finding: "not checked: \(reason)",
                      remedy: "Fix the failing check it names first, then run `tally doctor` again.")
    }

    enum CodingKeys: String, CodingKey { case name, status, code, finding, remedy, hint }

    /// `code` and `remedy` are always present (`null` when empty), so every check has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(status, forKey: .status)
        if let code { try container.encode(code, forKey: .code) } else { try container.encodeNil(forKey: .code) }
        try container.encode(finding, forKey: .finding)
        if let remedy { try container.encode(remedy, forKey: .remedy) } else { try container.encodeNil(forKey: .remedy) }
        try container.encodeIfPresent(hint, forKey: .hint)
    }
}

/// What `tally doctor` found: one finding per check, in checklist order.
public struct DoctorReport: Codable, Sendable, Equatable {
    public var checks: [DoctorFinding]
    /// Whether no check failed (warnings allowed).
    public var ok: Bool

    public init(checks: [DoctorFinding]) {
        self.checks = checks
        ok = !checks.contains { $0.status == .fail }
    }

    /// The finding of one check.
    public subscript(_ name: DoctorCheckName) -> DoctorFinding? {
        checks.first { $0.name == name }
    }
}
