import Foundation
import NIOConcurrencyHelpers
import TallyCore
import TallyStore

/// What a decision is taken with and an answer signed with: the settings and the certificate, replaced together
/// on reload (SIGHUP, a new certificate).
public final class ActivationState: Sendable {
    struct Snapshot: Sendable {
        var settings: HostSettings
        var signer: AnswerSigner?
    }

    private let snapshot: NIOLockedValueBox<Snapshot>
    let key: SigningKey

    public init(settings: HostSettings, key: SigningKey, certificate: HostCertificate?) throws {
        self.key = key
        snapshot = NIOLockedValueBox(Snapshot(settings: settings, signer: try certificate.map { try AnswerSigner(key: key, certificate: $0) }))
    }

    public var settings: HostSettings { snapshot.withLockedValue { $0.settings } }

    /// The certificate answers are signed with, valid or not.
    public var certificate: HostCertificate? { snapshot.withLockedValue { $0.signer?.certificate } }

    public func update(settings: HostSettings) {
        snapshot.withLockedValue { $0.settings = settings }
    }

    public func update(certificate: HostCertificate?) throws {
        let signer = try certificate.map { try AnswerSigner(key: key, certificate: $0) }
        snapshot.withLockedValue { $0.signer = signer }
    }

    /// The decision context at `now` and the signer of its answers; without a certificate valid at `now`, no
    /// signer (every request is then C004F041).
    func context(now: Date) -> (DecisionContext, AnswerSigner?, HostSettings) {
        let current = snapshot.withLockedValue { $0 }
        let signer = current.signer.flatMap { now < $0.certificate.expires ? $0 : nil }
        let intervals = ClientIntervals(activation: current.settings.activationInterval, renewal: current.settings.renewalInterval)
        let policy = ActivationPolicy(newMachineBudget: NewMachineBudget(perAddress: current.settings.newMachinesPerAddress))
        return (DecisionContext(certificate: signer?.certificate.claims, intervals: intervals, policy: policy), signer, current.settings)
    }

    /// Current count and threshold per class of the certificate.
    func thresholds() -> [String: Int] {
        snapshot.withLockedValue { $0.signer?.certificate.claims.thr ?? [:] }
    }
}
