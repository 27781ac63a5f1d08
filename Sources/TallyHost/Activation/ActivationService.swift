import Foundation
import Logging
import TallyCore
import TallyStore

/// Decides activation requests one at a time and commits them in groups.
///
/// A request is decided under one lock (so two requests at a count of 24 never both see 24) and joins the
/// pending batch; the committer thread writes a batch in one transaction and only then releases its answers.
/// When a batch fails to commit, its sightings and those of every request decided after it are undone, and all
/// of them get an error, never a ticket.
public final class ActivationService: @unchecked Sendable {
    public typealias Completion = @Sendable (HostDecision) -> Void

    struct Pending {
        var record: ActivationRecord
        var plan: SignablePlan?
        var undo: (cmid: String, productClass: String, day: Int, previous: Int?)?
        var completion: Completion
        var received = ContinuousClock.now
    }

    /// The state the lock guards.
    struct State {
        var counts: ClassCounts
        var pending: [Pending] = []
        var settings: HostSettings
        var certificate: HostCertificate?
        var signer: HostSigner?
        var running = true
        var batchSizes: [Int: Int] = [:]
        var prunedDay = Int.min
    }

    private let condition = NSCondition()
    private var state: State
    private let store: any HostStore
    private let key: SigningKey
    private let policy = ActivationPolicy()
    private let clock: HostClock
    private let logger: Logger
    private var committer: Thread?
    private let stopped = NSCondition()
    private var committerDone = false
    private let observer: (any ActivationObserver)?

    public init(store: any HostStore, key: SigningKey, certificate: HostCertificate?, settings: HostSettings, clock: HostClock, logger: Logger,
                observer: (any ActivationObserver)? = nil) throws {
        self.store = store
        self.observer = observer
        self.key = key
        self.clock = clock
        self.logger = logger
        state = State(counts: try store.loadCounts(now: clock.now()), settings: settings, certificate: certificate,
                      signer: try certificate.map { try HostSigner(key: key, certificate: $0) })
    }

    /// Starts the committer thread.
    public func start() {
        let thread = Thread { [self] in commitLoop() }
        thread.name = "tally-group-commit"
        committer = thread
        thread.start()
    }

    /// Stops taking work, commits what is pending and waits for the committer to finish.
    public func stop() {
        condition.lock()
        state.running = false
        condition.broadcast()
        condition.unlock()
        stopped.lock()
        while !committerDone, committer != nil { stopped.wait() }
        stopped.unlock()
    }

    /// New settings (SIGHUP): intervals apply to the next answer.
    public func update(settings: HostSettings) {
        condition.lock()
        state.settings = settings
        condition.unlock()
    }

    /// A new certificate (after `tally host activate` and SIGHUP).
    public func update(certificate: HostCertificate?) throws {
        let signer = try certificate.map { try HostSigner(key: key, certificate: $0) }
        condition.lock()
        state.certificate = certificate
        state.signer = signer
        condition.unlock()
    }

    /// Current count and threshold per class, at the host's time.
    public func counts() -> [String: (current: Int, required: Int)] {
        condition.lock()
        defer { condition.unlock() }
        let now = clock.now()
        var result: [String: (Int, Int)] = [:]
        for (productClass, threshold) in state.certificate?.claims.thr ?? [:] {
            result[productClass] = (state.counts.count(class: productClass, at: now), threshold)
        }
        return result
    }

    /// Group-commit batch sizes seen so far (size → batches), for metrics and benchmarks.
    public func batchSizes() -> [Int: Int] {
        condition.lock()
        defer { condition.unlock() }
        return state.batchSizes
    }

    /// Handles one request body from `address`. `completion` runs once, on the committer thread or the caller's.
    public func submit(_ body: Data, from address: String, completion: @escaping Completion) {
        let request: ActivationRequestBody
        let policyRequest: PolicyRequest
        do {
            (request, policyRequest) = try ActivationRequestBody.decode(body)
        } catch {
            logger.info("malformed activation request", metadata: ["peer": "\(address)", "error": "\(error.message)"])
            completion(.error(status: 400, ProtocolErrorBody(code: error.code, message: error.message)))
            return
        }

        condition.lock()
        guard state.running else {
            condition.unlock()
            completion(.error(status: 503, ProtocolErrorBody(code: .storeUnavailable, message: "the host is shutting down")))
            return
        }
        let now = clock.now()
        guard let certificate = state.certificate, let signer = state.signer, now < certificate.expires else {
            // Without a valid certificate nothing can be signed in a way the client could verify: the answer is an
            // unsigned 503 C004F041, given once its 12290 event is stored (nothing is counted).
            let event = TallyEvent(id: .requestHandled, time: now, result: .hostNotActivated, fields: Self.eventFields(
                request, policyRequest, requiredCount: 0, currentCount: 0, address: address))
            let record = ActivationRecord(cmid: policyRequest.cmid, sku: policyRequest.sku, productClass: nil, fingerprint: policyRequest.fingerprint,
                                          machine: request.machine, time: now, result: .hostNotActivated, counted: false,
                                          licenseStatus: request.licenseStatus, ticketExpires: nil, event: event)
            state.pending.append(Pending(record: record, plan: nil, undo: nil, completion: completion))
            condition.signal()
            condition.unlock()
            return
        }
        let today = CountWindow.day(of: now)
        if today > state.prunedDay {
            // Once a day, forget machines that left the window, so memory follows the count, not history.
            state.counts.prune(before: now)
            state.prunedDay = today
        }
        let productClass = certificate.claims.productClass(of: policyRequest.sku)
        let previous = productClass.flatMap { state.counts.lastDay(of: policyRequest.cmid, class: $0) }
        let decision = policy.decide(policyRequest, certificate: certificate.claims, counts: &state.counts, now: now)
        let settings = state.settings

        var ticket: TicketClaims?
        var ticketExpires: Date?
        if decision.grantsTicket {
            let expires = ActivationPolicy.ticketExpiry(now: now, certificate: certificate.claims)
            ticketExpires = expires
            ticket = TicketClaims(iss: certificate.claims.sub, sub: policyRequest.cmid, sku: policyRequest.sku, fpr: policyRequest.fingerprint,
                                  cnt: decision.currentCount, iat: now,
                                  rnw: min(now.addingTimeInterval(Double(Intervals.clamp(minutes: settings.renewalInterval)) * 60), expires),
                                  exp: expires)
        }
        let response = ResponseClaims(iss: certificate.claims.sub, sub: policyRequest.cmid, sku: policyRequest.sku, res: decision.code,
                                      cur: decision.currentCount, req: decision.requiredCount, ai: settings.activationInterval,
                                      ri: settings.renewalInterval, htm: now, nce: request.nonce, tkt: nil)
        let event = TallyEvent(id: .requestHandled, time: now, result: decision.code, fields: Self.eventFields(
            request, policyRequest, requiredCount: decision.requiredCount, currentCount: decision.currentCount, address: address))
        let record = ActivationRecord(cmid: policyRequest.cmid, sku: policyRequest.sku, productClass: decision.productClass,
                                      fingerprint: policyRequest.fingerprint, machine: request.machine, time: now, result: decision.code,
                                      counted: decision.counted, licenseStatus: decision.grantsTicket ? LicenseStatus.licensed.rawValue : request.licenseStatus,
                                      ticketExpires: ticketExpires, event: event)
        var undo: Pending.Undo?
        if decision.counted, let productClass {
            undo = (policyRequest.cmid, productClass, CountWindow.day(of: now), previous)
        }
        state.pending.append(Pending(record: record, plan: SignablePlan(response: response, ticket: ticket, signer: signer),
                                     undo: undo, completion: completion))
        condition.signal()
        condition.unlock()
    }

    private func commitLoop() {
        while true {
            condition.lock()
            while state.pending.isEmpty, state.running { condition.wait() }
            if state.pending.isEmpty, !state.running {
                condition.unlock()
                break
            }
            let maxBatch = max(1, state.settings.groupCommitMaxBatch)
            let maxWait = state.settings.groupCommitMaxWaitMicroseconds
            if maxWait > 0, state.pending.count < maxBatch, state.running {
                let deadline = Date().addingTimeInterval(Double(maxWait) / 1_000_000)
                while state.pending.count < maxBatch, state.running, condition.wait(until: deadline) {}
            }
            let batch = Array(state.pending.prefix(maxBatch))
            state.pending.removeFirst(batch.count)
            state.batchSizes[batch.count, default: 0] += 1
            condition.unlock()

            do {
                try store.commit(batch.map(\.record))
                // The observer (metrics, cloned images) sees a batch before its answers go out, so whoever holds
                // an answer can rely on the observer having seen it.
                observe(batch, committed: true)
                // A request without a plan came while the host had no valid certificate.
                for item in batch { item.completion(item.plan.map { .answer($0) } ?? Self.notActivated) }
            } catch {
                let failure = (error as? TallyError) ?? TallyError(.storeUnavailable, "\(error)")
                logger.error("group commit failed; answering the batch with an error", metadata: ["error": "\(failure.message)", "batch": "\(batch.count)"])
                condition.lock()
                let later = state.pending
                state.pending = []
                for item in (batch + later).reversed() {
                    if let undo = item.undo { state.counts.undo(undo.cmid, class: undo.productClass, recordedDay: undo.day, previous: undo.previous) }
                }
                condition.unlock()
                let body = ProtocolErrorBody(code: .storeUnavailable, message: "the host could not store the request: \(failure.message)")
                observe(batch + later, committed: false)
                for item in batch + later { item.completion(.error(status: 503, body)) }
            }
        }
        stopped.lock()
        committerDone = true
        stopped.broadcast()
        stopped.unlock()
    }
}

extension ActivationService {
    /// The unsigned answer to a request that came while the host had no valid certificate.
    static let notActivated = HostDecision.error(status: 503, ProtocolErrorBody(code: .hostNotActivated, message: "this host has no valid certificate from the vendor"))

    /// The fields of a request's 12290 event.
    static func eventFields(_ request: ActivationRequestBody, _ policyRequest: PolicyRequest, requiredCount: Int, currentCount: Int,
                            address: String) -> [String: String] {
        [
            "minCount": String(requiredCount), "currentCount": String(currentCount),
            "machine": request.machine, "cmid": policyRequest.cmid, "fingerprint": policyRequest.fingerprint,
            "clientTime": String(request.clientTime), "licenseStatus": request.licenseStatus, "sku": policyRequest.sku,
            "minutesToExpiry": request.minutesToExpiry.map(String.init) ?? "", "vm": request.vm.map { $0 ? "1" : "0" } ?? "",
            "address": address,
        ]
    }

    /// Tells the observer (metrics, cloned images) what a batch did, before its answers are released.
    private func observe(_ batch: [Pending], committed: Bool) {
        guard let observer else { return }
        let now = ContinuousClock.now
        observer.observe(ObservedBatch(records: batch.map(\.record), latencies: batch.map { $0.received.duration(to: now) }, committed: committed))
    }
}

extension ActivationService.Pending {
    typealias Undo = (cmid: String, productClass: String, day: Int, previous: Int?)
}
