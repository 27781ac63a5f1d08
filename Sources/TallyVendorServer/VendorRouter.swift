import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore
import TallyVendor

/// Routes one complete request to the vendor's authority and turns the outcome into an answer. The authority's
/// work (SQLite, signing) runs on NIO's blocking thread pool, never on an event loop.
struct VendorRouter: Sendable {
    let authority: VendorAuthority
    let configuration: VendorServerConfiguration
    let limiter: VendorRateLimiter
    let logger: Logger
    let now: @Sendable () -> Date

    func respond(to head: HTTPRequestHead, body: ByteBuffer, address: String) async -> VendorResponse {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let post = [VendorPaths.activate, VendorPaths.renew, VendorPaths.report]
        switch (head.method, path) {
        case (.GET, VendorPaths.health):
            return .json(["status": "ok"])
        case (_, VendorPaths.health):
            return .error(.methodNotAllowed, .malformedRequest, "use GET for \(VendorPaths.health)", allow: "GET")
        case (.POST, _) where post.contains(path):
            guard limiter.allow(address) else {
                logger.notice("request refused", metadata: ["address": "\(address)", "path": "\(path)", "code": "\(ResultCode.vendorRateLimited.hex)"])
                return .error(.tooManyRequests, .vendorRateLimited, "too many requests from this address; retry later")
            }
            return await perform(path: path, body: Data(body.readableBytesView), address: address)
        case (_, _) where post.contains(path):
            return .error(.methodNotAllowed, .malformedRequest, "use POST for \(path)", allow: "POST")
        default:
            return .error(.notFound, .malformedRequest, "no such path; the vendor's endpoints are POST \(post.joined(separator: ", ")) and GET \(VendorPaths.health)")
        }
    }

    private func perform(path: String, body: Data, address: String) async -> VendorResponse {
        let origin = VendorRequestOrigin(channel: .online, address: address)
        let authority = authority, validity = configuration.certificateValidity, time = now()
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws -> VendorResponse in
                switch path {
                case VendorPaths.report:
                    let report = try Self.decode(VendorReportBody.self, body).report
                    let acknowledgement = try authority.acknowledgeReport(report, now: time, origin: origin)
                    logger.info(acknowledgement.repeated ? "usage report received again" : "usage report acknowledged", metadata: [
                        "address": "\(address)", "host": "\(acknowledgement.claims.sub)", "seq": "\(acknowledgement.claims.seq)",
                    ])
                    return .json(VendorReceiptAnswer(receipt: acknowledgement.receipt, roots: acknowledgement.statements))
                default:
                    let request = try Self.decode(VendorRequestBody.self, body).request
                    let activation = path == VendorPaths.renew
                        ? try authority.renewHost(request: request, now: time, validity: validity, origin: origin)
                        : try authority.activateHost(request: request, now: time, validity: validity, origin: origin, signer: .online)
                    let unlock = "\(activation.unlock)"
                    logger.info(path == VendorPaths.renew ? "host certificate renewed" : "host activated", metadata: [
                        "address": "\(address)", "host": "\(activation.claims.sub)", "key": "\(activation.keyID)",
                        "serial": "\(activation.claims.serial)", "unlock": "\(unlock)", "root": "\(activation.signer)",
                    ])
                    return .json(VendorCertificateAnswer(certificate: activation.certificate, roots: activation.statements, unlock: unlock))
                }
            }
        } catch let error as TallyError {
            let status = VendorResponse.status(for: error.code)
            logger.notice("request refused", metadata: ["address": "\(address)", "path": "\(path)", "code": "\(error.code.hex)", "reason": "\(error.message)"])
            guard status != .internalServerError else {
                // The detail may name files of the vendor's machine: it goes to the log, not to the requester.
                logger.error("request failed at the vendor", metadata: ["path": "\(path)", "error": "\(error)"])
                return .error(status, error.code, "the vendor could not answer this request; it has logged why")
            }
            return .error(status, error.code, error.message)
        } catch {
            logger.error("request failed at the vendor", metadata: ["path": "\(path)", "error": "\(error)"])
            return .error(.internalServerError, .storeUnavailable, "the vendor could not answer this request; it has logged why")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do {
            return try TallyJSON.decode(type, from: body)
        } catch {
            throw TallyError(.malformedRequest, "the body is not a JSON \(T.self): \(error)")
        }
    }
}
