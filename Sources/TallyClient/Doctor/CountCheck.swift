import TallyCore

/// Check 6: the host's count for the SKU's class against the class threshold, from the host's signed answer.
/// Below the threshold is a warning with the counts (C004F038): the machines activate once enough have asked.
package struct CountCheck: DoctorCheck {
    package var name: DoctorCheckName { .count }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        guard let (host, response) = session.verifiedAnswer else {
            return .notChecked(name, because: session.unansweredReason)
        }
        let claims = response.claims
        let productClass = response.certificate.claims.productClass(of: claims.sku).map { "class \($0)" } ?? "its class"
        switch claims.res {
        case .skuNotCovered:
            return .notChecked(name, because: "\(host) cannot activate \(claims.sku) (see host-certificate)")
        case .clockSkew:
            // Not counted: the count is the host's without this machine.
            let counts = "\(host) counts \(DoctorText.plural(claims.cur, "machine")) for \(claims.sku) (\(productClass)); \(claims.req) are needed (this machine was not counted: the clocks differ, see clock-skew)"
            if claims.cur < claims.req {
                return .warn(name, .countTooLow, counts)
            }
            return .pass(name, counts)
        case .success:
            return .pass(name, "\(host) counts \(DoctorText.plural(claims.cur, "machine")) for \(claims.sku) (\(productClass)), this one included; the threshold is \(claims.req): activation was granted (the doctor did not store the ticket)")
        case .countTooLow:
            return .warn(name, .countTooLow,
                         "\(host) counts \(DoctorText.plural(claims.cur, "machine")) for \(claims.sku) (\(productClass)), this one included; \(claims.req) are needed, \(max(0, claims.req - claims.cur)) more must ask")
        default:
            let meaning = claims.res.info?.meaning ?? "a code Tally does not know"
            return .warn(name, claims.res, "\(host) answered \(claims.res.hex) (\(meaning)); its count is \(claims.cur) of \(claims.req)")
        }
    }
}
