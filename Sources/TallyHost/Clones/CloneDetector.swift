import Foundation
import Logging
import TallyCore
import TallyStore

/// Finds cloned images: one CMID answered for several machine fingerprints within the count window.
///
/// It watches committed batches (the activation decision is untouched: a clone is answered as usual and
/// counted once, since the count is per CMID) and checks the store on a thread of its own, so the committer
/// never waits for it. A CMID whose last fingerprint is the one it sends again costs a dictionary look-up; only a
/// CMID new since start or with a changed fingerprint is looked up. Each fingerprint is reported once (event
/// 12300), also across restarts.
public final class CloneDetector: ActivationObserver, @unchecked Sendable {
    public static let remedy = "Several machines were made from one image that already held a Tally client state, so they share one CMID "
        + "and count as one machine. On each clone run `tally client rearm` (it makes a new CMID), and generalise the image before "
        + "copying it again: remove the client state directory and /etc/machine-id from the template."

    struct Sighting {
        var cmid: String
        var fingerprint: String
        var time: Date
    }

    private let store: SQLiteHostStore
    private let logger: Logger
    private let reported: @Sendable (TallyEvent) -> Void
    private let condition = NSCondition()
    private var queue: [Sighting] = []
    private var lastFingerprint: [String: String] = [:]
    private var busy = false
    private var running = true
    private var done = false
    private static let cacheLimit = 200_000

    /// `reported` runs for each 12300 event written (metrics).
    public init(store: SQLiteHostStore, logger: Logger, reported: @escaping @Sendable (TallyEvent) -> Void = { _ in }) {
        self.store = store
        self.logger = logger
        self.reported = reported
        let thread = Thread { [self] in loop() }
        thread.name = "tally-clone-detector"
        thread.start()
    }

    public func observe(_ batch: ObservedBatch) {
        guard batch.committed else { return }
        condition.lock()
        defer { condition.unlock() }
        var added = false
        for record in batch.records where record.counted && record.productClass != nil {
            if lastFingerprint[record.cmid] == record.fingerprint { continue }
            if lastFingerprint.count >= CloneDetector.cacheLimit { lastFingerprint.removeAll(keepingCapacity: true) }
            lastFingerprint[record.cmid] = record.fingerprint
            queue.append(Sighting(cmid: record.cmid, fingerprint: record.fingerprint, time: record.time))
            added = true
        }
        if added { condition.broadcast() }
    }

    /// Waits until everything observed so far was checked (tests, shutdown).
    public func flush() {
        condition.lock()
        while (!queue.isEmpty || busy) && !done { condition.wait() }
        condition.unlock()
    }

    /// Checks what is queued, then stops the thread.
    public func stop() {
        condition.lock()
        running = false
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && running { condition.wait() }
            if queue.isEmpty && !running {
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let sightings = queue
            queue = []
            busy = true
            condition.unlock()

            check(sightings)

            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    private func check(_ sightings: [Sighting]) {
        guard let newest = sightings.map(\.time).max() else { return }
        let day = CountWindow.day(of: newest)
        let firstDay = day - Intervals.countWindowDays + 1
        do {
            let cmids = Array(Set(sightings.map(\.cmid)))
            for cmid in try store.cmidsWithSeveralFingerprints(among: cmids, since: firstDay) {
                let machines = try store.fingerprints(of: cmid, since: firstDay)
                guard machines.count > 1 else { continue }
                let time = sightings.last { $0.cmid == cmid }?.time ?? newest
                var written: TallyEvent?
                let new = try store.reportClone(cmid: cmid, fingerprints: machines.map(\.fingerprint), day: day) { new in
                    let event = CloneDetector.event(cmid: cmid, machines: machines, new: new, time: time)
                    written = event
                    return event
                }
                if !new.isEmpty, let written {
                    logger.warning("cloned image: one CMID from several machines", metadata: ["cmid": "\(cmid)", "machines": "\(machines.count)"])
                    reported(written)
                }
            }
        } catch {
            logger.error("could not check for cloned images", metadata: ["error": "\(error)"])
        }
    }

    /// Event 12300: the CMID, every machine seen with it in the window, which fingerprints are new, the remedy.
    static func event(cmid: String, machines: [FingerprintSighting], new: [String], time: Date) -> TallyEvent {
        TallyEvent(id: .clonedImage, time: time, fields: [
            "cmid": cmid,
            "machines": machines.map(\.machine).joined(separator: ", "),
            "fingerprints": machines.map(\.fingerprint).joined(separator: ","),
            "newFingerprints": new.joined(separator: ","),
            "machineCount": String(machines.count),
            "remedy": remedy,
        ])
    }
}
