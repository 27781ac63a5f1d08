/// The result a client below the threshold gets: the count is too low (KMS's 0xC004F038).
let countTooLow: UInt32 = 0xC004_F038

extension BenchHost {
    /// Serves the template state once: finds the protocol the host speaks, measures the answer sizes (two
    /// refusals below the threshold, with and without `hch`, then grants), and passes the threshold, checking
    /// every count on the way. Afterwards `known` is the number of clients the template has counted.
    func prepareTemplate() throws(BenchError) {
        let host = try serve(template)
        defer { _ = host.process.stop() }
        var counted = 0

        func send(_ request: ActivationRequestTemplate) throws(BenchError) -> Exchange {
            guard let exchange = Exchange.send(request.make(), port: host.port) else {
                throw BenchError("\(label): no answer from the host while setting it up; its log: \(host.logTail)")
            }
            return exchange
        }

        /// Checks an answer's result and that its count is the number of clients so far.
        func check(_ exchange: Exchange, expecting result: UInt32?) throws(BenchError) -> Exchange {
            guard exchange.status == 200, let answer = exchange.answer else {
                throw BenchError("\(label): HTTP \(exchange.status) while setting up: \(String(decoding: exchange.body.prefix(300), as: UTF8.self))")
            }
            if answer.result == 0 || answer.result == countTooLow {
                counted += 1
                guard answer.current == counted else {
                    throw BenchError("\(label): the host counted \(answer.current.map(String.init) ?? "nothing") for client \(counted)")
                }
            }
            if let result, answer.result != result {
                throw BenchError("\(label): result \(Self.hex(answer.result)) while setting up, expected \(Self.hex(result))")
            }
            return exchange
        }

        // Protocol 2 first; a host of protocol 1 refuses `ver: 2` as a malformed request (HTTP 400).
        protocolVersion = 2
        var first = try send(request(holdingCertificate: true))
        if first.status == 400 {
            protocolVersion = 1
            first = try send(request(holdingCertificate: true))
        }
        let refusalHolding = try check(first, expecting: countTooLow)
        let refusal = try check(send(request()), expecting: countTooLow)
        var grant: Exchange?
        while grant == nil, counted < 1000 {
            let exchange = try check(send(request()), expecting: nil)
            if exchange.answer?.granted == true { grant = exchange }
        }
        guard let grant else { throw BenchError("\(label): no grant after 1000 clients") }
        let grantHolding = try check(send(request(holdingCertificate: true)), expecting: 0)
        known = counted
        wire = WireFigures(grantBytes: grant.answerBytes, grantCertificateCopies: ActivationAnswer.certificateCopies(grant.body),
                           grantHoldingCertificateBytes: grantHolding.answerBytes, refusalHoldingCertificateBytes: refusalHolding.answerBytes,
                           refusalBytes: refusal.answerBytes, requestBytes: request().bytes.count,
                           requestWithHashBytes: request(holdingCertificate: true).bytes.count, format: grant.answer?.format ?? .response)
        guard host.process.stop() != nil else { throw BenchError("\(label): the host did not exit on SIGTERM; its log: \(host.logTail)") }
    }

    static func hex(_ code: UInt32) -> String {
        let digits = String(code, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
