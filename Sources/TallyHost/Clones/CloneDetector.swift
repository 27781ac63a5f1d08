import Foundation
import Logging
import TallyCore
import TallyStore

/// Finds cloned images: one CMID answered for several machine fingerprints within the count window.
///
/// It watches committed batches (the activation decision is untouched: a clone is answered as usual and
/// counted once, since the count is per CMID) and checks the store on a thread of its own, so the committer
/// never waits for it. A CMID whose last fingerprint is the one it sends again costs a dictionary look-up; only a
/// CMID new since start or with a changed fingerprint is looked up, with point look-ups however many
/// fingerprints it has.
///
/// Event 12300 is written for a CMID at most once a day (of host time), when it has fingerprints never reported
/// before, also across restarts; it names at most ``SQLiteHostStore/cloneListLimit`` machines and says how many
/// there are. A machine that appears after the day's report is reported the next day its CMID asks. So a script
/// sending one CMID with random fingerprints makes one small event a day, not one event per request listing
/// every fingerprint so far.
public final class CloneDetector: ActivationObserver, @unchecked Sendable {
    public static let remedy = "Several machines were made from one image that already held a Tally client state, so they share one CMID "
        + "and count as one machine. On each clone run `tally client rearm` (it makes a new CMID), and generalise the image before "
        + "copying it again: remove the client state directory and /etc/machine-id from the template."

    struct Sighting {
        var cmid: String
        var fingerprint: String
        var time: Date
        /// Look at the CMID's unreported fingerprints even if this one was reported: it is new since start, or
        /// had machines held back for a later day.
        var recheck: Bool
    }

    private let store: SQLiteHostStore
    private let logger: Logger
    private let reported: @Sendable (TallyEvent) -> Void
    private let condition = NSCondition()
    private var queue: [Sighting] = []
    private var lastFingerprint: [String: String] = [:]
    /// CMIDs with fingerprints held back because the CMID was already reported that day.
    private var pending: Set<String> = []
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
            let last = lastFingerprint[record.cmid]
            let held = pending.contains(record.cmid)
            if last == record.fingerprint && !held { continue }
            if lastFingerprint.count >= CloneDetector.cacheLimit { lastFingerprint.removeAll(keepingCapacity: true) }
            lastFingerprint[record.cmid] = record.fingerprint
            queue.append(Sighting(cmid: record.cmid, fingerprint: record.fingerprint, time: record.time, recheck: last == nil || held))
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
        // One entry per CMID, in the order first seen: its fingerprints, its newest time, whether to recheck.
        var order: [String] = []
        var seen: [String: (fingerprints: [String], time: Date, recheck: Bool)] = [:]
        var pairs = Set<[String]>()
        for sighting in sightings {
            let isNewPair = pairs.insert([sighting.cmid, sighting.fingerprint]).inserted
            if var entry = seen[sighting.cmid] {
                if isNewPair { entry.fingerprints.append(sighting.fingerprint) }
                entry.time = max(entry.time, sighting.time)
                entry.recheck = entry.recheck || sighting.recheck
                seen[sighting.cmid] = entry
            } else {
                order.append(sighting.cmid)
                seen[sighting.cmid] = ([sighting.fingerprint], sighting.time, sighting.recheck)
            }
        }
        do {
            let states = try store.cloneStates(order.map { cmid in
                let entry = seen[cmid]!
                return (cmid, CountWindow.day(of: entry.time), entry.fingerprints)
            })
            for cmid in order {
                let entry = seen[cmid]!
                switch states[cmid] ?? .single {
                case .single:
                    setPending(cmid, false)
                case let .several(reportedThatDay: true, unreportedSeen):
                    // Once a day per CMID: a new machine waits for the next day this CMID asks (as may machines
                    // held back before a restart).
                    if unreportedSeen || entry.recheck { setPending(cmid, true) }
                case let .several(reportedThatDay: false, unreportedSeen):
                    guard unreportedSeen || entry.recheck else { continue }
                    var written: TallyEvent?
                    let report = try store.reportClone(cmid: cmid, day: CountWindow.day(of: entry.time)) { report in
                        let event = CloneDetector.event(report, time: entry.time)
                        written = event
                        return event
                    }
                    setPending(cmid, false)
                    if let report, let written {
                        logger.warning("cloned image: one CMID from several machines",
                                       metadata: ["cmid": "\(cmid)", "machines": "\(report.image.machineCount)", "new": "\(report.newFingerprintCount)"])
                        reported(written)
                    }
                }
            }
        } catch {
            logger.error("could not check for cloned images", metadata: ["error": "\(error)"])
        }
    }

    private func setPending(_ cmid: String, _ held: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if held {
            if pending.count >= CloneDetector.cacheLimit { pending.removeAll(keepingCapacity: true) }
            pending.insert(cmid)
        } else {
            pending.remove(cmid)
        }
    }

    /// Event 12300: the CMID, its newest machines (at most ``SQLiteHostStore/cloneListLimit``, the newly reported
    /// first) with their fingerprints, how many machines it has in the window, which fingerprints are new, the remedy.
    static func event(_ report: CloneReport, time: Date) -> TallyEvent {
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
