import Foundation

/// The decision table of docs/ARCHITECTURE.md ("Counting and deciding"), as a pure function of the host's
/// certificate, the class counts, the request, the host's intervals and the time. The host takes decisions one at
/// a time, so two requests at 24 never both see 24.
public struct ActivationPolicy: Sendable {
    public var clockSkewTolerance: TimeInterval
    /// New machines per address block per day (`new-machines-per-address`).
    public var newMachineBudget: NewMachineBudget

    public init(clockSkewTolerance: TimeInterval = Intervals.clockSkewTolerance, newMachineBudget: NewMachineBudget = NewMachineBudget()) {
        self.clockSkewTolerance = clockSkewTolerance
        self.newMachineBudget = newMachineBudget
    }

    /// Decides one request and, when it counts, records the machine in `counts`.
    ///
    /// - Parameters:
    ///   - certificate: the host's certificate claims when the host holds a certificate valid at `now`, else `nil`.
    ///   - intervals: the host's activation and renewal intervals (clamped in the answer; the renewal interval
    ///     sets the ticket's renew-after time).
    ///   - block: where the request came from; a machine new to its class is admitted only within the
    ///     ``newMachineBudget`` of its block (`nil`: no budget applies).
    /// - Throws: only what `counts` throws when it has to look a machine up.
    public func decide<Counts: CountState>(_ request: PolicyRequest, certificate: HostCertificateClaims?,
                                           intervals: ClientIntervals = ClientIntervals(), counts: inout Counts,
                                           now: Date, from block: AddressBlock? = nil) throws(Counts.LookupFailure) -> ActivationDecision {
        func outcome(_ code: ResultCode, _ productClass: String? = nil, current: Int = 0, required: Int = 0) -> ActivationDecision {
            ActivationPolicy.decision(code, productClass: productClass, currentCount: current, requiredCount: required,
                                      intervals: intervals, certificate: certificate, now: now)
        }
        guard let certificate, now < certificate.exp.date else { return outcome(.hostNotActivated) }
        guard let productClass = certificate.productClass(of: request.sku) else { return outcome(.skuNotCovered) }
        let required = certificate.thr[productClass] ?? Int.max
        let today = CountWindow.day(of: now)
        guard abs(request.clientTime.timeIntervalSince(now)) <= clockSkewTolerance else {
            return outcome(.clockSkew, productClass, current: counts.count(class: productClass, today: today), required: required)
        }
        let previous = try counts.lastDay(of: request.cmid, class: productClass)
        if previous == nil, let block, case .refuse = counts.newMachine(from: block, day: today, budget: newMachineBudget) {
            return outcome(.newMachineBudgetExceeded, productClass, current: counts.count(class: productClass, today: today), required: required)
        }
        // An older sighting than the one kept changes nothing (the host's clock was set back).
        if previous.map({ today > $0 }) ?? true {
            counts.record(request.cmid, class: productClass, day: today, previous: previous)
        }
        let last = max(previous ?? today, today)
        // The count includes the machine asking now, even when its kept sighting lies after `now`.
        let inWindow = counts.count(class: productClass, today: today)
        let current = last == today ? inWindow : inWindow + 1
        return outcome(current >= required ? .success : .countTooLow, productClass, current: current, required: required)
    }

    /// The decision of one outcome of the table: a refusal, C004F038 (counted, below the threshold) or a grant (counted,
    /// with its ticket's times). ``decide(_:certificate:intervals:counts:now:from:)`` and a store that decides in its own
    /// engine (PostgreSQL) both make their decisions here, so a decision means the same whoever counted.
    ///
    /// - Parameters:
    ///   - code: the outcome; a refusal before the class is known (C004F041, C004F042) carries no class and zero counts.
    ///   - certificate: needed for a grant (the ticket never outlives it).
    public static func decision(_ code: ResultCode, productClass: String?, currentCount: Int, requiredCount: Int, intervals: ClientIntervals,
                                certificate: HostCertificateClaims?, now: Date) -> ActivationDecision {
        let answerIntervals = intervals.clamped
        switch code {
        case .success:
            guard let certificate else { return decision(.hostNotActivated, productClass: nil, currentCount: 0, requiredCount: 0,
                                                         intervals: intervals, certificate: nil, now: now) }
            let expires = ActivationPolicy.ticketExpiry(now: now, certificate: certificate)
            let renewAfter = min(now.addingTimeInterval(Double(answerIntervals.renewal) * 60), expires)
            return ActivationDecision(code: .success, productClass: productClass, currentCount: currentCount, requiredCount: requiredCount,
                                      counted: true, intervals: answerIntervals,
                                      ticket: TicketTimes(issuedAt: now, renewAfter: renewAfter, expires: expires))
        case .countTooLow:
            return ActivationDecision(code: .countTooLow, productClass: productClass, currentCount: currentCount, requiredCount: requiredCount,
                                      counted: true, intervals: answerIntervals)
        case .hostNotActivated, .skuNotCovered:
            return ActivationDecision(code: code, productClass: nil, currentCount: 0, requiredCount: 0, counted: false, intervals: answerIntervals)
        default:
            return ActivationDecision(code: code, productClass: productClass, currentCount: currentCount, requiredCount: requiredCount,
                                      counted: false, intervals: answerIntervals)
        }
    }

    /// The expiry of a ticket granted at `now`: 180 days, never past the certificate.
    public static func ticketExpiry(now: Date, certificate: HostCertificateClaims) -> Date {
        min(now.addingTimeInterval(Intervals.activationValidity), certificate.exp.date)
    }
}
