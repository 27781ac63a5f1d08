import Foundation

/// A result code as an administrator will search for it: KMS's numbering where the condition is the same.
///
/// Codes print as `0xC004F038`. ``ResultCode/parse(_:)`` accepts the forms `tally explain` takes.
public struct ResultCode: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt32.self) {
            rawValue = number
        } else {
            let text = try container.decode(String.self)
            guard let code = ResultCode.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a result code: \(text)")
            }
            rawValue = code.rawValue
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    /// `0xC004F038`: the form every output of Tally uses.
    public var hex: String {
        let digits = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    public var description: String { hex }
    public var isSuccess: Bool { rawValue == 0 }

    public static func < (lhs: ResultCode, rhs: ResultCode) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses `0xC004F038`, `C004F038`, `3221549112` and `-1073418184`.
    ///
    /// Eight characters that are all hexadecimal digits are read as hex: no code that Tally knows is an
    /// eight-digit decimal number, so the forms never collide.
    public static func parse(_ text: String) -> ResultCode? {
        var s = text.trimmingCharacters(in: .whitespaces)
        if s.lowercased().hasPrefix("0x") {
            s.removeFirst(2)
            guard !s.isEmpty, s.count <= 8, let value = UInt32(s, radix: 16) else { return nil }
            return ResultCode(value)
        }
        if s.count == 8, let value = UInt32(s, radix: 16) {
            return ResultCode(value)
        }
        if s.hasPrefix("-") {
            guard let value = Int32(s) else { return nil }
            return ResultCode(UInt32(bitPattern: value))
        }
        if let value = UInt32(s) { return ResultCode(value) }
        if let value = Int32(s) { return ResultCode(UInt32(bitPattern: value)) }
        return nil
    }
}

extension ResultCode {
    public static let success = ResultCode(0)
    public static let countTooLow = ResultCode(0xC004_F038)
    public static let hostDidNotRespond = ResultCode(0xC004_F039)
    public static let hostNotActivated = ResultCode(0xC004_F041)
    public static let skuNotCovered = ResultCode(0xC004_F042)
    public static let invalidKey = ResultCode(0xC004_F050)
    public static let clockSkew = ResultCode(0xC004_F06C)
    public static let noHostContacted = ResultCode(0xC004_F074)
    public static let unlockLimitReached = ResultCode(0xC004_C008)
    public static let keyBlocked = ResultCode(0xC004_C003)
    public static let rearmLimitReached = ResultCode(0xC004_D307)
    public static let keyDoesNotMatch = ResultCode(0xC004_E016)
    public static let noDNSServer = ResultCode(0x8007_267C)
    public static let dnsServerFailure = ResultCode(0x8007_232A)
    public static let dnsNameNotFound = ResultCode(0x8007_232B)
    public static let dnsNoSRVRecords = ResultCode(0x8007_251D)
    public static let hostUnreachable = ResultCode(0x8007_06BA)
    public static let accessDenied = ResultCode(0x8007_0005)

    // Tally's own codes, for conditions KMS has no number for. Facility 0xA7 ("Tally").
    public static let malformedRequest = ResultCode(0xC0A7_0001)
    public static let tokenRejected = ResultCode(0xC0A7_0002)
    public static let stateUnreadable = ResultCode(0xC0A7_0003)
    public static let ticketFromAnotherMachine = ResultCode(0xC0A7_0004)
    public static let clockRolledBack = ResultCode(0xC0A7_0005)
    public static let storeUnavailable = ResultCode(0xC0A7_0006)
    public static let catalogInvalid = ResultCode(0xC0A7_0007)
    public static let answerRejected = ResultCode(0xC0A7_0008)
    public static let notInstalled = ResultCode(0xC0A7_0009)
    /// The client was given no vendor profile (issue 10's range, 0xC0A70030…0xC0A7003F).
    public static let profileMissing = ResultCode(0xC0A7_0030)
    /// A usage report reaching further back than the host keeps clients and sightings (`report-retention-days`).
    public static let reportBeyondRetention = ResultCode(0xC0A7_0031)
    public static let usageError = ResultCode(0xC0A7_000A)
    public static let rateLimited = ResultCode(0xC0A7_000B)
    public static let hostBusy = ResultCode(0xC0A7_000C)
    public static let requestTimeout = ResultCode(0xC0A7_000D)
    /// A new machine over its address's budget of new machines for the day (issue 10).
    public static let newMachineBudgetExceeded = ResultCode(0xC0A7_000E)

    // A store shared by several hosts (PostgreSQL): 0xC0A70010–0xC0A7001F.
    /// The shared store's schema is newer than this binary knows.
    public static let storeSchemaNewer = ResultCode(0xC0A7_0010)
    /// The shared store belongs to hosts of another licence (another host key, or other thresholds).
    public static let storeOfAnotherLicence = ResultCode(0xC0A7_0011)
    /// A store setting was refused: a password in the URL, a password file others may read, an unknown sslmode.
    public static let storeSettingRefused = ResultCode(0xC0A7_0012)
    /// `store migrate` found a target store that already holds data (and no `--merge`).
    public static let storeTargetNotEmpty = ResultCode(0xC0A7_0013)
    /// `store migrate` copied the store but the counts of the copy differ from the source's.
    public static let storeCopyMismatch = ResultCode(0xC0A7_0014)

    // The online vendor authority: 0xC0A70020–0xC0A7002F.
    public static let vendorUnreachable = ResultCode(0xC0A7_0020)
    public static let vendorTimeout = ResultCode(0xC0A7_0021)
    public static let vendorTLSRejected = ResultCode(0xC0A7_0022)
    public static let proxyFailed = ResultCode(0xC0A7_0023)
    public static let vendorAnswerInvalid = ResultCode(0xC0A7_0024)
    public static let reportRewritten = ResultCode(0xC0A7_0025)
    public static let reportChainBroken = ResultCode(0xC0A7_0026)
    public static let receiptRejected = ResultCode(0xC0A7_0027)
    public static let renewalUnknownKeyPair = ResultCode(0xC0A7_0028)
    public static let rootInUse = ResultCode(0xC0A7_0029)
    public static let rootUnknown = ResultCode(0xC0A7_002A)
    public static let noVendorURL = ResultCode(0xC0A7_002B)
    public static let rootStatementRejected = ResultCode(0xC0A7_002C)
    public static let vendorTLSConfiguration = ResultCode(0xC0A7_002D)
    public static let vendorRateLimited = ResultCode(0xC0A7_002E)
    public static let vendorLimitReached = ResultCode(0xC0A7_002F)
}
