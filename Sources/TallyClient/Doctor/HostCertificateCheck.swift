import Foundation
import TallyCore

/// Check 5: the host's certificate, as its signed answer carries it (`hct`), verifies against the vendor roots
/// of the profile at this machine's clock and covers the SKU.
///
/// A host without a valid certificate answers 503 C004F041; a certificate from another vendor, or out of date,
/// is C0A70002 (the client rejects every answer of that host); a SKU outside the certificate is C004F042. A
/// certificate that expires within 30 days is a warning.
package struct HostCertificateCheck: DoctorCheck {
    package var name: DoctorCheckName { .hostCertificate }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        switch session.answer {
        case let .notAsked(reason):
            return .notChecked(name, because: reason)
        case let .noAnswer(host, error):
            if error.code == .hostNotActivated {
                return .fail(name, .hostNotActivated, "\(host) has no valid certificate from the vendor, so it activates nothing: \(error.message)")
            }
            if error.code == .rateLimited || error.code == .hostBusy {
                return .warn(name, error.code, "not checked: \(error.message)", remedy: error.remedy)
            }
            return .fail(name, error.code, "\(host) answered the health check but gave no signed answer to an activation: \(error.message)",
                         remedy: error.remedy)
        case let .rejected(_, error):
            return .fail(name, error.code, error.message, remedy: error.remedy)
        case let .verified(host, response, problem):
            let certificate = response.certificate
            let claims = certificate.claims
            if let problem {
                return .fail(name, .tokenRejected,
                             problem.message + "; it is valid at the host's time (\(DoctorText.iso(response.claims.htm.date))), so either the certificate is out of date or one of the two clocks is wrong (see clock-skew)",
                             remedy: "Compare both clocks with a time source (NTP). If this machine's clock is right, the host's administrator runs `tally host status`, fixes the host's clock and reactivates the host (`tally host activate`).")
            }
            let covered = claims.skus.map { "\($0.sku) (\($0.class))" }.joined(separator: ", ")
            if response.claims.res == .skuNotCovered {
                return .fail(name, .skuNotCovered,
                             "the certificate of host \(claims.sub) at \(host) is for group \(claims.grp) and covers \(covered); not \(response.claims.sku)")
            }
            let finding = "host \(claims.sub) at \(host) is certified by \(claims.iss) (root key \(certificate.signer)), serial \(claims.serial), group \(claims.grp), valid until \(DoctorText.iso(certificate.expires)); covers \(covered)"
            let left = certificate.expires.timeIntervalSince(session.now)
            if left < Intervals.expiryWarning {
                return .warn(name, .hostNotActivated,
                             finding + "; it expires in \(DoctorText.duration(left)), and then every client gets C004F041",
                             remedy: "The host's administrator renews the certificate before it expires: `tally host activate` (renewing for the same key pair is free).")
            }
            return .pass(name, finding)
        }
    }
}
