import Foundation
import TallyCore
import TallyFiles
import TallyVendor

extension LiveHost {
    /// The trusted roots of a vendor whose state directory is `vendorDirectory` (one made with the command line).
    public static func roots(vendorDirectory: String) throws -> TrustedRoots {
        try TrustedRoots([VendorAuthority(directory: StateDirectory(vendorDirectory)).publicKey()])
    }

    /// Verifies the answer (either protocol) to a request made by ``body(_:sku:clientTime:nonce:)`` for `machine` with `nonce`, as a
    /// client would: status 200, signed by a host the vendor certified, echoing the nonce, for this machine.
    public static func verifyAnswer(status: Int, body: Data, machine: Machine, nonce: String, roots: TrustedRoots,
                                    now: Date) throws -> VerifiedResponse {
        guard status == 200 else {
            throw RawHTTPConnection.Failure(description: "status \(status): \(String(decoding: body, as: UTF8.self))")
        }
        // As ``result(ofAnswer:nonce:machine:held:)``, with the roots given rather than a fixture's.
        let answer = try TallyJSON.decode(ActivationAnswerBody.self, from: body)
        if let token = answer.token {
            return try VerifiedResponse.verify(token: token, certificate: answer.certificate, roots: roots, now: now, nonce: nonce, cmid: machine.cmid,
                                               fingerprint: machine.fingerprint)
        }
        guard let response = answer.response else { throw RawHTTPConnection.Failure(description: "neither token nor response in the answer") }
        return try VerifiedResponse.verify(response, roots: roots, now: now, nonce: nonce, cmid: machine.cmid, fingerprint: machine.fingerprint)
    }
}
