import Foundation
import Logging
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

/// A `host.sqlite` written by the host before the rebuild (schema version 3, one file) opened by today's store:
/// migrated in place once, every client, count and event kept; a store from a newer Tally refused.
@Suite("Store migration: a version 3 single-file host.sqlite migrates in place, once; a newer one is refused", .serialized)
struct StoreMigrationTests {
    /// What the old host wrote, and what the new store must show for it.
    struct OldStore {
        var clients: [String: ClientRecord] = [:]
        var events: [TallyEvent] = []
        var totals: [ResultCode: Int] = [:]
        /// `day sku class` of each sighting, with the machines seen.
        var sightings: [String: Set<String>] = [:]
        let now: Date
        let machines: [String: LiveHost.Machine]
        let cloned: LiveHost.Machine
        let clonedSecond: String
    }

    /// Writes the old store at `path`: machines of both classes over 40 days (one outside the count window), one
    /// asked twice, one cloned (two fingerprints, reported), a refused SKU, a DNS event.
    static func makeOldStore(at path: String, now: Date) throws -> OldStore {
        let legacy = try LegacyHostStore(path: path)
        let names = ["a", "b", "c", "e", "s1", "s2", "x"]
        var machines: [String: LiveHost.Machine] = [:]
        for name in names { machines[name] = LiveHost.Machine(name: "old-\(name)") }
        let cloned = LiveHost.Machine(name: "old-image")
        let clonedSecond = MachineFingerprint.compute(machineID: UUID().uuidString, productUUID: nil)
        var old = OldStore(now: now, machines: machines, cloned: cloned, clonedSecond: clonedSecond)
        let day = 86_400.0
        func record(_ machine: LiveHost.Machine, fingerprint: String? = nil, sku: String, productClass: String?, daysAgo: Double,
                    result: ResultCode = .countTooLow, ticketExpires: Date? = nil, status: String = "Initial grace") throws {
            let time = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - daysAgo * day).rounded(.down))
            let fingerprint = fingerprint ?? machine.fingerprint
            try legacy.record(cmid: machine.cmid, sku: sku, productClass: productClass, fingerprint: fingerprint, machine: machine.name, time: time,
                              result: result, currentCount: 3, requiredCount: 25, ticketExpires: ticketExpires, licenseStatus: status)
            old.events.append(TallyEvent(id: .requestHandled, time: time, result: result, fields: [
                "minCount": "25", "currentCount": "3", "machine": machine.name, "cmid": machine.cmid, "fingerprint": fingerprint,
                "clientTime": String(Int(time.timeIntervalSince1970)), "licenseStatus": status, "sku": sku, "minutesToExpiry": "43200", "vm": "",
                "address": "192.0.2.7:50000",
            ]))
            old.totals[result, default: 0] += 1
            guard let productClass else { return }
            let previous = old.clients[machine.cmid]
            old.clients[machine.cmid] = ClientRecord(cmid: machine.cmid, sku: sku, productClass: productClass, fingerprint: fingerprint,
                                                     machine: machine.name, firstSeen: previous?.firstSeen ?? time, lastSeen: time, lastResult: result,
                                                     requests: (previous?.requests ?? 0) + 1, ticketExpires: ticketExpires ?? previous?.ticketExpires,
                                                     licenseStatus: status)
            old.sightings["\(CountWindow.day(of: time)) \(sku) \(productClass)", default: []].insert(machine.cmid)
        }
        try record(machines["a"]!, sku: "studio-pro", productClass: "client", daysAgo: 3)
        try record(machines["b"]!, sku: "studio-pro", productClass: "client", daysAgo: 10)
        try record(machines["b"]!, sku: "studio-pro", productClass: "client", daysAgo: 1)
        try record(machines["c"]!, sku: "studio-pro", productClass: "client", daysAgo: 40)
        try record(machines["e"]!, sku: "studio-pro", productClass: "client", daysAgo: 2, result: .success,
                   ticketExpires: now.addingTimeInterval(170 * day).rounded(), status: "Licensed")
        try record(machines["s1"]!, sku: "studio-server", productClass: "server", daysAgo: 1)
        try record(machines["s2"]!, sku: "studio-server", productClass: "server", daysAgo: 20)
        try record(machines["x"]!, sku: "studio-nothing", productClass: nil, daysAgo: 1, result: .skuNotCovered)
        try record(cloned, sku: "studio-pro", productClass: "client", daysAgo: 5)
        try record(cloned, fingerprint: clonedSecond, sku: "studio-pro", productClass: "client", daysAgo: 2)
        let reportDay = CountWindow.day(of: now) - 2
        let report = TallyEvent(id: .clonedImage, time: now.addingTimeInterval(-2 * day).rounded(),
                                fields: ["cmid": cloned.cmid, "machineCount": "2", "fingerprints": "\(cloned.fingerprint),\(clonedSecond)"])
        try legacy.reportClone(cmid: cloned.cmid, fingerprints: [cloned.fingerprint, clonedSecond], day: reportDay, event: report)
        old.events.append(report)
        let dns = TallyEvent(id: .dnsPublishSucceeded, time: now.addingTimeInterval(-day).rounded(), fields: ["domain": "example.com"])
        try legacy.append(dns)
        old.events.append(dns)
        try legacy.close()
        return old
    }

    /// The new store shows exactly what the old one held.
    static func expectSame(_ store: SQLiteHostStore, _ old: OldStore) async throws {
        #expect(try await store.counts(now: old.now) == ["client": 4, "server": 2])
        let clients = try await store.clients(ClientQuery(limit: 1000))
        #expect(Dictionary(uniqueKeysWithValues: clients.map { ($0.cmid, $0) }) == old.clients)
        let events = try await store.events(EventQuery(limit: 1000))
        #expect(events.map(\.event) == old.events)
        #expect(events.map(\.seq) == Array(1...Int64(old.events.count)))
        #expect(try await store.eventCount() == old.events.count)
        #expect(try await store.totals() == old.totals)
        let today = CountWindow.day(of: old.now)
        let usage = try await store.usage(fromDay: today - 45, toDay: today)
        #expect(Dictionary(uniqueKeysWithValues: usage.map { ("\($0.day) \($0.sku) \($0.productClass)", $0.machines) }) == old.sightings.mapValues(\.count))
        let images = try await store.clonedImages(since: today - Intervals.countWindowDays + 1, limit: 20)
        #expect(images.map(\.cmid) == [old.cloned.cmid])
        #expect(Set(images.first?.machines.map(\.fingerprint) ?? []) == [old.cloned.fingerprint, old.clonedSecond])
        #expect(try await store.lastEvent(.dnsPublishSucceeded)?.event == old.events.last)
    }

    @Test("opened by today's store: the index is built, every client, count, sighting, clone and event kept; a second open migrates nothing")
    func migratesInPlaceOnce() async throws {
        let fixture = try ActivatedHost(now: LiveHost.wholeSecondNow())
        let path = fixture.host.directory.file(HostRuntime.storeFile).path
        let now = LiveHost.wholeSecondNow()
        let old = try Self.makeOldStore(at: path, now: now)
        #expect(try LegacyHostStore.appliedMigrations(path: path) == LegacyHostStore.migrations)

        let first = LogLines()
        let store = try SQLiteHostStore(path: path, logger: first.logger("migration"))
        #expect(first.all.contains { $0.contains("store migrated") }, "\(first.all)")
        try await Self.expectSame(store, old)
        try await store.close()
        #expect(try LegacyHostStore.appliedMigrations(path: path) == LegacyHostStore.migrations + ["4-log", "5-seq-floor", "6-no-request-time-index"])
        #expect(FileManager.default.fileExists(atPath: SQLiteHostStore.indexPath(forLog: path)))
        #expect(!FileManager.default.fileExists(atPath: SQLiteHostStore.indexPath(forLog: path) + ".building"))

        let second = LogLines()
        let again = try SQLiteHostStore(path: path, logger: second.logger("migration"))
        #expect(!second.all.contains { $0.contains("migrated") || $0.contains("index") }, "\(second.all)")
        try await Self.expectSame(again, old)
        try await again.close()
        #expect(try LegacyHostStore.appliedMigrations(path: path) == LegacyHostStore.migrations + ["4-log", "5-seq-floor", "6-no-request-time-index"])

        // A host serving on the migrated store decides from it: a machine counted before is not counted again, one
        // whose last request left the window is, and so is a new one.
        let host = try await LiveHost(fixture: fixture, clock: .manual(now))
        #expect(try host.activate(old.machines["b"]!).claims.cur == 4)
        #expect(try host.activate(old.machines["c"]!).claims.cur == 5)
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 6)
        #expect(try host.activate(old.machines["s1"]!, sku: "studio-server").claims.cur == 2)
        #expect(try await host.counts() == ["client": 6, "server": 2])
        #expect(try await host.runtime.store.eventCount() == old.events.count + 4)
        await host.stop()
    }

    @Test("a migrated store whose index file is lost makes a new one from the log, without the rows from before the migration")
    func migratedIndexLost() async throws {
        let temp = TemporaryDirectory()
        let path = temp.path("host.sqlite")
        let now = LiveHost.wholeSecondNow()
        let old = try Self.makeOldStore(at: path, now: now)
        try await SQLiteHostStore(path: path).close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: SQLiteHostStore.indexPath(forLog: path) + suffix) }
        let store = try SQLiteHostStore(path: path)
        // The log is whole; what the index held of the single-file era is not in the log's rows to make again.
        #expect(try await store.events(EventQuery(limit: 1000)).map(\.event) == old.events)
        #expect(try await store.clientCount() == 0)
        try await store.close()
    }

    @Test("a log or an index with a migration this Tally does not know is refused with the remedy; nothing is changed")
    func newerRefused() async throws {
        let temp = TemporaryDirectory()
        let path = temp.path("host.sqlite")
        let old = try Self.makeOldStore(at: path, now: LiveHost.wholeSecondNow())
        try await SQLiteHostStore(path: path).close()
        for file in [path, SQLiteHostStore.indexPath(forLog: path)] {
            let before = try LegacyHostStore.appliedMigrations(path: file)
            try LegacyHostStore.markNewer(path: file)
            do {
                _ = try SQLiteHostStore(path: path)
                Issue.record("\(file) with a newer migration was opened")
            } catch let error as TallyError {
                #expect(error.code == .storeUnavailable)
                #expect(error.message.contains("newer version of Tally") && error.message.contains("99-from-a-newer-tally"), "\(error.message)")
                #expect(error.remedy.contains("Run the newer version of Tally"), "\(error.remedy)")
            }
            #expect(try LegacyHostStore.appliedMigrations(path: file) == (before + ["99-from-a-newer-tally"]).sorted())
            try LegacyHostStore.unmarkNewer(path: file)
        }
        let store = try SQLiteHostStore(path: path)
        #expect(try await store.events(EventQuery(limit: 1000)).map(\.event) == old.events)
        try await store.close()
    }
}

extension Date {
    /// Whole seconds (the old store kept times as REAL seconds; the fixtures use whole ones).
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
