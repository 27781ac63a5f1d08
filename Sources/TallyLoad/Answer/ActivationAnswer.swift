/// A host's answer to an activation request, read without verifying its signature (the driver measures; the
/// tests verify): which format it came in, its result code and count.
public struct ActivationAnswer: Sendable, Equatable {
    /// The body's shape.
    public enum Format: String, Sendable, Codable {
        /// Protocol 1: `{"response": JWS}`, the ticket nested in the response's `tkt`.
        case response
        /// Protocol 2: `{"token": JWS, "certificate"?: JWS}`, the grant's ticket being the token itself.
        case token
    }

    public var format: Format
    /// The payload's `res`.
    public var result: UInt32
    /// The payload's `cur` (a protocol-2 grant's `cnt`), the class's count the host reports.
    public var current: Int?

    /// Result 0: a ticket was granted.
    public var granted: Bool { result == 0 }

    public init(format: Format, result: UInt32, current: Int?) {
        self.format = format
        self.result = result
        self.current = current
    }

    /// Reads an answer body; `scratch` is reused for the decoded payload. `nil` when it is neither format.
    public static func parse(_ body: UnsafeBufferPointer<UInt8>, scratch: inout [UInt8]) -> ActivationAnswer? {
        let format: Format
        let token: Range<Int>
        if case .string(let range) = JSONScan.value(of: "token", in: body) {
            format = .token
            token = range
        } else if case .string(let range) = JSONScan.value(of: "response", in: body) {
            format = .response
            token = range
        } else {
            return nil
        }
        guard let payload = part(1, of: UnsafeBufferPointer(rebasing: body[token])),
              Base64URLBytes.decode(payload, into: &scratch)
        else { return nil }
        return scratch.withUnsafeBufferPointer { claims -> ActivationAnswer? in
            guard let res = JSONScan.value(of: "res", in: claims), let code = JSONScan.resultCode(res, in: claims) else { return nil }
            // A refusal (and any answer of protocol 1) says `cur`; a protocol-2 grant is the ticket, whose `cnt` it is.
            let count = JSONScan.value(of: "cur", in: claims) ?? JSONScan.value(of: "cnt", in: claims)
            let current = count.flatMap { JSONScan.integer($0, in: claims) }.map { Int($0) }
            return ActivationAnswer(format: format, result: code, current: current)
        }
    }

    public static func parse(_ body: [UInt8]) -> ActivationAnswer? {
        var scratch: [UInt8] = []
        return body.withUnsafeBufferPointer { parse($0, scratch: &scratch) }
    }

    /// How many copies of the host certificate an answer carries: a `certificate` member, and an `hct` header
    /// on the answer's token and on a ticket nested in it.
    public static func certificateCopies(_ body: [UInt8]) -> Int {
        body.withUnsafeBufferPointer { body in
            var copies = 0
            if case .string = JSONScan.value(of: "certificate", in: body) { copies += 1 }
            let token: Range<Int>
            if case .string(let range) = JSONScan.value(of: "token", in: body) {
                token = range
            } else if case .string(let range) = JSONScan.value(of: "response", in: body) {
                token = range
            } else {
                return copies
            }
            var header: [UInt8] = []
            var payload: [UInt8] = []
            let compact = UnsafeBufferPointer(rebasing: body[token])
            if let part = part(0, of: compact), Base64URLBytes.decode(part, into: &header),
               header.withUnsafeBufferPointer({ JSONScan.value(of: "hct", in: $0) }) != nil {
                copies += 1
            }
            guard let part = part(1, of: compact), Base64URLBytes.decode(part, into: &payload) else { return copies }
            payload.withUnsafeBufferPointer { claims in
                guard case .string(let range) = JSONScan.value(of: "tkt", in: claims),
                      let ticketHeader = self.part(0, of: UnsafeBufferPointer(rebasing: claims[range])),
                      Base64URLBytes.decode(ticketHeader, into: &header),
                      header.withUnsafeBufferPointer({ JSONScan.value(of: "hct", in: $0) }) != nil
                else { return }
                copies += 1
            }
            return copies
        }
    }

    /// Part `index` (0 header, 1 payload, 2 signature) of a compact JWS.
    static func part(_ index: Int, of compact: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var start = 0
        for _ in 0..<index {
            guard let dot = JSONScan.find(UInt8(ascii: "."), in: compact, from: start) else { return nil }
            start = dot + 1
        }
        let end = JSONScan.find(UInt8(ascii: "."), in: compact, from: start) ?? compact.count
        guard index == 2 || end < compact.count else { return nil }
        return UnsafeBufferPointer(rebasing: compact[start..<end])
    }
}
