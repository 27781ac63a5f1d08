/// A stub resolver: asks the configured name servers over UDP, falls back to TCP when an answer is truncated,
/// and accepts only an answer to the question it asked, under the random id it chose.
///
/// Every server is tried in order, `attempts` rounds, each try waiting at most `timeout` seconds. NOERROR and
/// NXDOMAIN are answers; SERVFAIL, REFUSED and the like send the query to the next server.
public struct DNSResolver: Sendable {
    public var configuration: ResolverConfiguration

    public init(configuration: ResolverConfiguration) {
        self.configuration = configuration
    }

    /// Asks for `type` records of `name`.
    ///
    /// - Parameter deadline: when given, no server is asked once it has passed and no wait (UDP answer, TCP
    ///   connect or answer) lasts beyond it, so the query ends by then.
    /// - Returns: the answer, whose response code is NOERROR or NXDOMAIN.
    /// - Throws: ``DNSError``: no name servers, or the last failure when no server gave an answer (a
    ///   ``DNSError/Kind/timeout`` when the deadline passed first).
    public func query(_ name: DNSName, type: DNSRecordType, deadline: ContinuousClock.Instant? = nil) throws(DNSError) -> DNSMessage {
        guard !configuration.nameServers.isEmpty else {
            throw DNSError(.noNameServers, "no name server is configured")
        }
        var lastError: DNSError?
        for _ in 0..<max(1, configuration.attempts) {
            for server in configuration.nameServers {
                if let deadline, ContinuousClock.now >= deadline {
                    throw DNSError(.timeout, "no answer for \(name) \(type) before the deadline" + (lastError.map { " (\($0.detail))" } ?? ""))
                }
                do {
                    return try query(name, type: type, server: server, deadline: deadline)
                } catch {
                    lastError = error
                }
            }
        }
        throw lastError ?? DNSError(.timeout, "no name server answered")
    }

    /// Asks one server once (over TCP as well, if the UDP answer is truncated).
    public func query(_ name: DNSName, type: DNSRecordType, server: DNSServerAddress) throws(DNSError) -> DNSMessage {
        try query(name, type: type, server: server, deadline: nil)
    }

    /// The same, no wait lasting beyond `deadline`.
    func query(_ name: DNSName, type: DNSRecordType, server: DNSServerAddress, deadline: ContinuousClock.Instant?) throws(DNSError) -> DNSMessage {
        let edns = configuration.udpPayloadSize.map { EDNS(udpPayloadSize: $0) }
        var answer = try exchange(DNSMessage.query(id: UInt16.random(in: 0...UInt16.max), name: name, type: type, edns: edns), server: server, deadline: deadline)
        // A server that does not know EDNS answers FORMERR: ask once more without it (RFC 6891 §7).
        if answer.responseCode == .formatError, edns != nil, answer.edns == nil {
            answer = try exchange(DNSMessage.query(id: UInt16.random(in: 0...UInt16.max), name: name, type: type, edns: nil), server: server, deadline: deadline)
        }
        switch answer.responseCode {
        case .noError, .nameError:
            return answer
        default:
            throw DNSError(.serverFailure, "\(server) answered \(answer.responseCode) for \(name) \(type)", responseCode: answer.responseCode)
        }
    }

    /// Sends a message to one server and returns the matching answer: over UDP, then over TCP when the UDP
    /// answer has TC set or the message is too large for UDP.
    public func exchange(_ message: DNSMessage, server: DNSServerAddress) throws(DNSError) -> DNSMessage {
        try exchange(message, server: server, deadline: nil)
    }

    func exchange(_ message: DNSMessage, server: DNSServerAddress, deadline: ContinuousClock.Instant?) throws(DNSError) -> DNSMessage {
        let bytes: [UInt8]
        do {
            bytes = try message.encoded()
        } catch {
            throw DNSError(.malformedAnswer, "the query could not be written: \(error)")
        }
        return try exchange(bytes: bytes, message: message, server: server, deadline: deadline).message
    }

    /// The exchange on already written bytes (a signed update must go out exactly as signed). The UDP and the
    /// TCP leg each wait at most the configured timeout, and never beyond `deadline`.
    func exchange(bytes: [UInt8], message: DNSMessage, server: DNSServerAddress,
                  deadline: ContinuousClock.Instant? = nil) throws(DNSError) -> (message: DNSMessage, bytes: [UInt8]) {
        var timeout: Double {
            guard let deadline else { return configuration.timeout }
            return max(0, min(configuration.timeout, DNSResolver.seconds(ContinuousClock.now.duration(to: deadline))))
        }
        let udpLimit = Int(message.edns?.udpPayloadSize ?? 512)
        if bytes.count <= max(512, udpLimit) {
            var matched: DNSMessage?
            let datagram = try DNSTransport.udp(bytes, to: server, timeout: timeout) { datagram in
                guard let answer = try? DNSMessage(decoding: datagram), DNSResolver.answers(answer, message) else { return false }
                matched = answer
                return true
            }
            guard let answer = matched else { throw DNSError(.malformedAnswer, "\(server) sent no matching answer") }
            if !answer.header.isTruncated { return (answer, datagram) }
        }
        let stream = try DNSTransport.tcp(bytes, to: server, timeout: timeout)
        let answer: DNSMessage
        do {
            answer = try DNSMessage(decoding: stream)
        } catch {
            throw DNSError(.malformedAnswer, "\(server) sent a malformed answer over TCP: \(error)")
        }
        guard DNSResolver.answers(answer, message) else {
            throw DNSError(.malformedAnswer, "\(server) sent an answer over TCP that does not match the query (id or question)")
        }
        return (answer, stream)
    }

    /// Whether `answer` answers `query`: a response, same id and opcode, and the question echoed (a server may
    /// leave the question out of an error answer such as FORMERR).
    static func answers(_ answer: DNSMessage, _ query: DNSMessage) -> Bool {
        guard answer.header.isResponse, answer.header.id == query.header.id, answer.header.opcode == query.header.opcode else {
            return false
        }
        if answer.questions.isEmpty { return answer.responseCode != .noError }
        return answer.questions == query.questions
    }

    /// A duration in seconds, for the transport's `poll` timeouts.
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
