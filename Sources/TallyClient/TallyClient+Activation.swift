import Foundation
import TallyCore
import TallyFiles

/// The outcome of one activation attempt for one SKU.
///
/// A signed answer from a host is an outcome whatever its result: ``result`` is `0x00000000` when the host
/// granted a ticket, or the host's refusal (`0xC004F038` when the count is too low, with the counts).
/// ``TallyClient/activate(sku:now:)`` throws when no trustworthy answer was had; ``TallyClient/renewIfDue(now:)``
/// reports those as outcomes with ``failure`` set.
public struct ActivationOutcome: Codable, Sendable, Equatable {
    public var sku: String
    public var cmid: String
    /// The result: the host's, or the failure's code.
    public var result: ResultCode
    /// Whether this answer granted a ticket.
    public var granted: Bool
    /// The licence state after the attempt ("Licensed" also when a refusal left an earlier ticket valid).
    public var licenseStatus: LicenseStatus
    /// The host's count for the SKU's class, and the count the class needs.
    public var hostCount: Int?
    public var requiredCount: Int?
    /// The host that answered, or that was tried last.
    public var host: String?
    public var ticketExpires: Date?
    /// When the next activation or renewal is due (with jitter).
    public var nextAttempt: Date
    public var activationInterval: Int
    public var renewalInterval: Int
    /// What went wrong, when no trustworthy answer was had.
    public var message: String?
    /// The error, when no trustworthy answer was had (not encoded; ``message`` and ``result`` carry it).
    public var failure: TallyError? = nil

    /// Whether the licence holds a valid ticket after this attempt.
    public var isLicensed: Bool { licenseStatus == .licensed }

    enum CodingKeys: String, CodingKey {
        case sku, cmid, result, granted, licenseStatus, hostCount, requiredCount, host, ticketExpires, nextAttempt,
             activationInterval, renewalInterval, message
    }
}

extension TallyClient {
    /// Activates now (`slmgr /ato`): asks a host, verifies its signed answer, and applies it.
    ///
    /// Records event 12288 before sending to each host and 12289 once the attempt is over (with the result).
    /// The state directory stays locked during the exchange. With a pinned host that is at most the connect timeout
    /// plus the read timeout. With DNS discovery it is at most the discovery deadline (``DiscoveryOptions/deadline``,
    /// 10 s by default) plus the connect and read timeouts of the host being tried when the deadline passes, after
    /// the cached host's own timeouts when a cached host failed first. Resolving a host name with the system
    /// resolver (a pinned name, or an SRV target without addresses in DNS) adds that resolver's timeouts.
    ///
    /// - Parameter sku: the SKU; `nil` for the only one installed.
    /// - Returns: the outcome of a signed answer: granted, or refused (check ``ActivationOutcome/result``).
    /// - Throws: ``TallyError``: ``ResultCode/hostDidNotRespond`` (C004F039) when the pinned host does not
    ///   answer; ``ResultCode/answerRejected`` or ``ResultCode/tokenRejected`` when the answer does not verify
    ///   (nothing in it is trusted); the host's own code for an HTTP error answer; with no host pinned, the DNS
    ///   discovery codes (``ResultCode/noDNSServer``, ``ResultCode/dnsServerFailure``, ``ResultCode/dnsNameNotFound``,
    ///   ``ResultCode/dnsNoSRVRecords``) or ``ResultCode/noHostContacted`` (C004F074) when records exist but no host
    ///   answered. A failure is also recorded in the licence (last result, next retry).
    public func activate(sku: String? = nil, now: Date = Date()) throws(TallyError) -> ActivationOutcome {
        try locked { () throws(TallyError) -> ActivationOutcome in
            var state = try load(now: now)
            let id = try state.select(sku)
            let result = attempt(id, state: &state)
            try save(state)
            return try result.get()
        }
    }

    /// Renews or retries every installed SKU whose next attempt has come (`tally client renew-due`, and at
    /// application start). Failures are outcomes with ``ActivationOutcome/failure`` set, so one SKU's failure
    /// does not stop the others.
    ///
    /// - Returns: one outcome per SKU attempted; empty when nothing was due.
    public func renewIfDue(now: Date = Date()) throws(TallyError) -> [ActivationOutcome] {
        try locked { () throws(TallyError) -> [ActivationOutcome] in
            var state = try load(now: now)
            var outcomes: [ActivationOutcome] = []
            for id in state.machine.licenses.keys.sorted() where state.machine.licenses[id]!.isDue(at: state.now) {
                switch attempt(id, state: &state) {
                case let .success(outcome): outcomes.append(outcome)
                case let .failure(error): outcomes.append(failureOutcome(id, error, state: state))
                }
            }
            try save(state)
            return outcomes
        }
    }

    /// Verifies and applies a host's signed answer as ``activate(sku:now:)`` does after the exchange: for tests,
    /// and transports other than HTTP. `compact` is a protocol-1 response token, or with `certificate` (or the one
    /// this machine holds) a protocol-2 answer's token.
    package func applyAnswer(_ compact: String, certificate: String? = nil, protocol version: Int = 1, nonce: String, sku: String? = nil,
                             host: HostAddress? = nil, now: Date = Date()) throws(TallyError) -> ActivationOutcome {
        try locked { () throws(TallyError) -> ActivationOutcome in
            var state = try load(now: now)
            let id = try state.select(sku)
            let answer: ReceivedAnswer = version == 1 ? .legacy(response: compact) : .current(token: compact, certificate: certificate)
            do throws(TallyError) {
                let outcome = try process(answer, held: Self.heldCertificate(state.machine, sku: id), nonce: nonce, sku: id, host: host,
                                          roots: state.roots, state: &state)
                try save(state)
                return outcome
            } catch {
                state.machine.licenses[id]!.applyFailure(error.code, host: host?.description, now: state.now, jitter: randomFraction())
                try save(state)
                throw error
            }
        }
    }

    // MARK: - One attempt

    /// Tries the candidate hosts in order until one gives a trustworthy answer; records the outcome in the
    /// licence and the event log.
    func attempt(_ id: String, state: inout ClientState) -> Result<ActivationOutcome, TallyError> {
        let log = ClientEventLog(directory: directory)
        let now = state.now
        func fail(_ error: TallyError, host: HostAddress?) -> Result<ActivationOutcome, TallyError> {
            state.machine.licenses[id]!.applyFailure(error.code, host: host?.description, now: now, jitter: randomFraction())
            return .failure(error)
        }
        let roots = state.roots
        var round: HostQueue
        do {
            round = try locator.queue(settings: state.settings, service: state.profile.service)
        } catch {
            return fail(error, host: nil)
        }
        let pinned = round.pinned
        var failures: [(HostAddress, TallyError)] = []
        var tried: Set<HostAddress> = []
        while true {
            // Discovered SRV targets are looked up one at a time as the hosts before them fail, within the limits of
            // DiscoveryOptions (the first 16 targets, the discovery deadline).
            while let host = round.next(skipping: tried) {
                tried.insert(host)
                // While other discovered hosts remain, a host that accepts but does not answer is dropped after the
                // connect timeout rather than the full read timeout (KMS: "drops a host that does not answer").
                let othersRemain = !round.pinned && (round.cached || round.mayHaveMore)
                let hostReadTimeout = othersRemain ? min(readTimeout, max(connectTimeout, 1)) : readTimeout
                let license = state.machine.licenses[id]!
                let (check, _) = checkTicket(license, machine: state.machine, roots: roots, now: now)
                let status = license.status(at: now, ticket: check, graceEnds: state.machine.graceEnds(at: now))
                let expiry = Self.expiry(status: status, check: check, graceEnds: state.machine.graceEnds(at: now))
                let nonce = Self.makeNonce()
                let held = Self.heldCertificate(state.machine, sku: id)
                let body = ActivationRequestBody(
                    cmid: state.machine.cmid, sku: id, fingerprint: identity.fingerprint, machine: String(identity.name.prefix(ActivationRequestBody.maximumMachineNameLength)),
                    clientTime: now, nonce: nonce, licenseStatus: status,
                    minutesToExpiry: expiry.map { max(0, Int($0.timeIntervalSince(now) / 60)) },
                    certificateHash: held.map(HostCertificate.hash(ofCompact:)))
                log.append(TallyEvent(id: .requestSent, time: now, fields: [
                    "host": host.description, "cmid": body.cmid, "sku": id, "clientTime": ISO8601DateFormatter().string(from: now),
                    "licenseStatus": status.rawValue, "minutesToExpiry": body.minutesToExpiry.map(String.init) ?? "",
                    "machine": body.machine,
                ]))
                let result: Result<ActivationOutcome, TallyError>
                switch exchange(body, with: host, readTimeout: hostReadTimeout) {
                case let .success(answer):
                    do {
                        result = .success(try process(answer, held: held, nonce: nonce, sku: id, host: host, roots: roots, state: &state))
                    } catch {
                        result = .failure(error)
                    }
                case let .failure(error):
                    result = .failure(error)
                }
                switch result {
                case let .success(outcome):
                    log.append(TallyEvent(id: .responseProcessed, time: now, result: outcome.result, fields: [
                        "host": host.description, "cmid": outcome.cmid, "sku": id, "activated": String(outcome.granted),
                        "currentCount": outcome.hostCount.map(String.init) ?? "", "requiredCount": outcome.requiredCount.map(String.init) ?? "",
                        "activationInterval": String(outcome.activationInterval), "renewalInterval": String(outcome.renewalInterval),
                    ]))
                    if !round.pinned {
                        state.settings.discoveredHostName = round.names[host]
                        if state.settings.hostCaching { state.settings.cachedHost = host }
                    }
                    return .success(outcome)
                case let .failure(error):
                    log.append(TallyEvent(id: .responseProcessed, time: now, result: error.code, fields: [
                        "host": host.description, "cmid": state.machine.cmid, "sku": id, "activated": "false", "message": error.message,
                    ]))
                    failures.append((host, error))
                    // A host that answered with something untrustworthy is not retried elsewhere when pinned.
                    if round.pinned { return fail(error, host: host) }
                }
            }
            // The cached host failed: forget it and discover afresh (KMS host caching re-queries DNS only then).
            guard round.cached else { break }
            state.settings.cachedHost = nil
            do {
                round = try locator.queue(settings: state.settings, service: state.profile.service)
            } catch {
                let cachedFailure = failures.last.map { " (the cached host \($0.0) failed first: \($0.1.message))" } ?? ""
                return fail(TallyError(error.code, error.message + cachedFailure, remedy: error.remedy, hint: error.hint), host: failures.last?.0)
            }
        }
        guard let last = failures.last else {
            return fail(TallyError(.noHostContacted, "no activation host was found to try" + round.limitNote), host: nil)
        }
        if failures.count == 1, pinned { return fail(last.1, host: last.0) }
        let summary = failures.map { "\($0.0): \($0.1.code.hex) \($0.1.message)" }.joined(separator: "; ")
        return fail(TallyError(.noHostContacted, "DNS names activation hosts, but none answered: \(summary)" + round.limitNote), host: last.0)
    }

    /// Verifies a signed answer and applies it to the licence.
    func process(_ answer: ReceivedAnswer, held: String?, nonce: String, sku id: String, host: HostAddress?, roots: TrustedRoots,
                 state: inout ClientState) throws(TallyError) -> ActivationOutcome {
        let now = state.now
        let verified: VerifiedResponse
        do {
            verified = try answer.verify(held: held, roots: roots, now: now, nonce: nonce, cmid: state.machine.cmid,
                                         fingerprint: identity.fingerprint)
        } catch {
            throw Self.answerError(error, host: host)
        }
        let claims = verified.claims
        guard claims.sku == id else {
            throw TallyError(.answerRejected, "the answer\(host.map { " from \($0)" } ?? "") is for SKU \(claims.sku), not \(id)")
        }
        if claims.res.isSuccess, verified.ticket == nil {
            throw TallyError(.answerRejected, "the answer\(host.map { " from \($0)" } ?? "") grants activation but carries no ticket")
        }
        let certificate = answer.certificate(held: held)
        state.machine.licenses[id]!.apply(claims, ticket: answer.ticket(of: verified), certificate: certificate,
                                          ticketExpires: verified.ticket?.claims.exp.date, host: host?.description, now: now, jitter: randomFraction())
        // The host's signed time becomes the clock's floor from the next load on. The newest answer is kept whatever
        // its time: only a host can sign an older one, and a host whose clock ran ahead is forgotten at the next
        // answer from a host whose clock is right, instead of holding this clock in the future.
        state.machine.lastAnswer = answer.token
        state.machine.lastAnswerCertificate = certificate
        let license = state.machine.licenses[id]!
        let (check, _) = checkTicket(license, machine: state.machine, roots: roots, now: now)
        return ActivationOutcome(
            sku: id, cmid: state.machine.cmid, result: claims.res, granted: verified.ticket != nil && claims.res.isSuccess,
            licenseStatus: license.status(at: now, ticket: check, graceEnds: state.machine.graceEnds(at: now)),
            hostCount: claims.cur, requiredCount: claims.req,
            host: host?.description, ticketExpires: license.ticketExpires, nextAttempt: license.nextAttempt,
            activationInterval: license.activationInterval, renewalInterval: license.renewalInterval, message: nil)
    }

    func failureOutcome(_ id: String, _ error: TallyError, state: ClientState) -> ActivationOutcome {
        let license = state.machine.licenses[id]!
        let status = license.status(at: state.now, ticket: checkTicket(license, machine: state.machine, roots: state.roots, now: state.now).0,
                                    graceEnds: state.machine.graceEnds(at: state.now))
        return ActivationOutcome(
            sku: id, cmid: state.machine.cmid, result: error.code, granted: false, licenseStatus: status,
            hostCount: nil, requiredCount: nil, host: license.lastHost, ticketExpires: license.ticketExpires,
            nextAttempt: license.nextAttempt, activationInterval: license.activationInterval,
            renewalInterval: license.renewalInterval, message: error.message, failure: error)
    }

    /// A refused answer token: a forgery or a replay (answer rejected), or a host whose certificate is no
    /// longer good (token rejected).
    static func answerError(_ error: TokenError, host: HostAddress?) -> TallyError {
        let what = "the answer" + (host.map { " from \($0)" } ?? "")
        switch error.reason {
        case .expired, .notYetValid, .unknownSigner, .wrongSKU, .outlivesCertificate, .lifetimeTooLong, .issuedOutsideCertificate:
            return TallyError(.tokenRejected, "\(what) was rejected: \(error.detail)",
                              remedy: error.reason == .unknownSigner
                                ? "The host was not certified by this vendor's root keys: pin a host of this vendor, or update the application's client profile if the vendor rotated its key."
                                : "The host's certificate or ticket is out of date or does not fit: the host's administrator checks `tally host status` and reactivates the host if needed.")
        default:
            return TallyError(.answerRejected, "\(what) was rejected (\(error.reason.rawValue)): \(error.detail)")
        }
    }

    /// 16 random bytes, base64url: the value the signed answer must echo.
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }))
    }

    // MARK: - The HTTP exchange

    /// Posts the request; returns the signed answer, or why there is none.
    func exchange(_ body: ActivationRequestBody, with host: HostAddress, readTimeout: TimeInterval? = nil) -> Result<ReceivedAnswer, TallyError> {
        let data: Data
        do {
            data = try TallyJSON.encode(body)
        } catch {
            return .failure(TallyError(.malformedRequest, "could not encode the request: \(error)"))
        }
        let response: HTTPResponse
        do {
            response = try HTTPClient.post(ProtocolPaths.activate, body: data, to: host, connectTimeout: connectTimeout,
                                           readTimeout: readTimeout ?? self.readTimeout)
        } catch {
            return .failure(Self.noResponse(error, host: host))
        }
        return Self.interpret(response, from: host)
    }

    static func noResponse(_ failure: HTTPFailure, host: HostAddress) -> TallyError {
        switch failure.kind {
        case .resolve:
            return TallyError(.hostDidNotRespond, "the host \(host) did not respond: \(failure.detail)",
                              remedy: "Check the host name given to `tally client skms` and this machine's DNS; or pin the host by address.")
        case .connect, .timeout:
            return TallyError(.hostDidNotRespond, "the host \(host) did not respond: \(failure.detail)")
        case .malformed, .tooLarge:
            return TallyError(.hostDidNotRespond, "the host \(host) did not give a Tally answer: \(failure.detail)",
                              remedy: "Check that \(host) is a Tally host: something else may listen on that port (a proxy or another service).")
        }
    }

    /// The codes a host sends in an unsigned `{code, message}` body (openapi.yaml); any other is not believed.
    static let unsignedCodes: Set<ResultCode> = [.malformedRequest, .storeUnavailable, .hostNotActivated, .rateLimited, .hostBusy, .requestTimeout]

    /// Reads an HTTP answer: 200 with a signed token, or an error body `{code, message}`.
    static func interpret(_ response: HTTPResponse, from host: HostAddress) -> Result<ReceivedAnswer, TallyError> {
        let notTally = "Check that \(host) is a Tally host: something else may listen on that port (a proxy or another service); the host's log says more."
        if response.status == 200 {
            guard let answer = ReceivedAnswer(body: response.body) else {
                return .failure(TallyError(.hostDidNotRespond, "\(host) answered HTTP 200 without a Tally answer: \(HTTPResponseParser.preview(response.body))",
                                           remedy: notTally))
            }
            return .success(answer)
        }
        if let error = try? JSONDecoder().decode(ProtocolErrorBody.self, from: response.body) {
            let message = Sanitize.terminal(error.message)
            // An error body is not signed: only the codes a host sends unsigned are believed, so nobody on the
            // network can forge "count too low" or "activated" this way.
            guard TallyClient.unsignedCodes.contains(error.code) else {
                return .failure(TallyError(.hostDidNotRespond,
                                           "\(host) answered HTTP \(response.status) with code \(error.code.hex) unsigned, which a Tally host never sends that way: \(message)",
                                           remedy: notTally))
            }
            return .failure(TallyError(error.code, "\(host) refused the request (HTTP \(response.status)): \(message)"))
        }
        return .failure(TallyError(.hostDidNotRespond,
                                   "\(host) answered HTTP \(response.status)\(response.reason.isEmpty ? "" : " \(response.reason)") without a Tally error body: \(HTTPResponseParser.preview(response.body))",
                                   remedy: notTally))
    }
}
