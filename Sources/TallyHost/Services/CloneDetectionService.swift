import Foundation
import Logging
import ServiceLifecycle
import TallyCore
import TallyStore

/// Finds cloned images: one CMID answered for several machine fingerprints within the count window.
///
/// The activation decision is untouched (a clone is answered as usual and counted once, since the count is per
/// CMID). The store names the CMIDs it sees with a tracked second fingerprint, after they are in its tables; this
/// service has the store check and report them off the activation path.
///
/// Event 12300 is written for a CMID at most once a day (of host time), when it has fingerprints never reported
/// before, also across restarts; it names at most ``CloneLimits/listed`` machines and says how many there are. A
/// machine that appears after the day's report is reported the next day its CMID asks. So a script sending one
/// CMID with random fingerprints makes one small event a day, not one event per request listing every fingerprint.
public struct CloneDetectionService: Service {
    public static let remedy = "Several machines were made from one image that already held a Tally client state, so they share one CMID "
        + "and count as one machine. On each clone run `tally client rearm` (it makes a new CMID), and generalise the image before "
        + "copying it again: remove the client state directory and /etc/machine-id from the template."

    let store: any HostStore
    let logger: Logger
    /// Runs for each 12300 event written (metrics).
    let reported: @Sendable (CloneReport) -> Void
    /// One check at a time, so a caller of ``checkPending()`` sees every report of what was pending finished.
    private let checking = AsyncLock()

    public init(store: any HostStore, logger: Logger, reported: @escaping @Sendable (CloneReport) -> Void = { _ in }) {
        self.store = store
        self.logger = logger
        self.reported = reported
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await store.cloneCandidatesArrive()
                await checkPending()
            }
        }
        await checkPending()
    }

    /// Checks what the store has found since the last check (the service's work; tests call it after
    /// ``HostStore/catchUp()``).
    public func checkPending() async {
        await checking.withLock { await check(store.takeCloneCandidates()) }
    }

    private func check(_ candidates: [CloneCandidate]) async {
        guard !candidates.isEmpty else { return }
        do {
            for report in try await store.reportClones(candidates, event: CloneDetectionService.event) {
                logger.warning("cloned image: one CMID from several machines",
                               metadata: ["cmid": "\(report.image.cmid)", "machines": "\(report.image.machineCount)", "new": "\(report.newFingerprintCount)"])
                reported(report)
            }
        } catch {
            logger.error("could not check for cloned images", metadata: ["error": "\(error)"])
        }
    }

    /// Event 12300: the CMID, its newest machines (at most ``CloneLimits/listed``, the newly reported first) with
    /// their fingerprints, how many machines it has in the window, which fingerprints are new, the remedy.
    @Sendable static func event(_ report: CloneReport, time: Date) -> TallyEvent {
        let image = report.image
        return TallyEvent(id: .clonedImage, time: time, fields: [
            "cmid": image.cmid,
            "machines": image.machines.map(\.machine).joined(separator: ", "),
            "fingerprints": image.machines.map(\.fingerprint).joined(separator: ","),
            "newFingerprints": report.newFingerprints.joined(separator: ","),
            "machineCount": String(image.machineCount),
            "newMachineCount": String(report.newFingerprintCount),
            "listed": String(image.machines.count),
            "remedy": remedy,
        ])
    }
}
