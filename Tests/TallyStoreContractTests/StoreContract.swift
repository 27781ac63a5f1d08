import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// What every ``HostStore`` must do, written against the protocol only: the same bodies run against SQLite and
/// PostgreSQL (``StoreKind``).
struct StoreContract {
    /// Kept for the test's length: its temporary directory holds the SQLite store.
    let fixture: ActivatedHost
    let open: @Sendable () async throws -> any HostStore
    let certificate: HostCertificateClaims
    /// Whole seconds: both stores keep times to the second at least.
    let now: Date

    init(_ kind: StoreKind, fixture: ActivatedHost) throws {
        self.fixture = fixture
        open = try kind.opener(fixture)
        certificate = fixture.certificate.claims
        now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    var threshold: Int { certificate.thr["client"] ?? 25 }

    func input(_ cmid: String, fingerprint: String? = nil, address: String = "192.0.2.10", at time: Date? = nil) -> ActivationInput {
        ActivationInput(request: PolicyRequest(cmid: cmid, sku: "studio-pro", fingerprint: fingerprint ?? "fpr-\(cmid)", clientTime: time ?? now),
                        machine: "machine-\(cmid)", licenseStatus: "Initial grace", address: address)
    }

    var context: DecisionContext {
        DecisionContext(certificate: certificate, intervals: ClientIntervals(), policy: ActivationPolicy(newMachineBudget: .unlimited))
    }

    func batches(_ inputs: [ActivationInput], of size: Int) -> [[ActivationInput]] {
        stride(from: 0, to: inputs.count, by: size).map { Array(inputs[$0..<min($0 + size, inputs.count)]) }
    }

    /// 30 distinct machines in batches of 7: counts 1…30 in order, the threshold's machine gets the first
    /// ticket, a machine asking again is not counted twice, and the count survives a restart.
    func decidesInOrder() async throws {
        var store = try await open()
        var decisions: [StoredDecision] = []
        for batch in batches((1...30).map { input("m-\($0)") }, of: 7) {
            decisions += try await store.decide(batch, context: context, now: now)
        }
        #expect(decisions.map(\.decision.currentCount) == Array(1...30))
        #expect(decisions.firstIndex { $0.decision.grantsTicket } == threshold - 1)
        #expect(decisions.prefix(threshold - 1).allSatisfy { $0.decision.code == .countTooLow })
        #expect(Set(decisions.map(\.seq)).count == 30)
        #expect(decisions.map(\.seq) == decisions.map(\.seq).sorted())
        #expect(try await store.counts(now: now)["client"] == 30)
        // The same machines again, and one twice in a batch: the count does not move.
        let again = try await store.decide([input("m-1"), input("m-2"), input("m-2")], context: context, now: now)
        #expect(again.map(\.decision.currentCount) == [30, 30, 30])
        #expect(again.allSatisfy { $0.decision.grantsTicket })
        try await store.close()
        store = try await open()
        #expect(try await store.counts(now: now)["client"] == 30)
        let next = try await store.decide([input("m-31")], context: context, now: now)
        #expect(next.first?.decision.currentCount == 31)
        // Outside the window (31 days on) a machine counts from 1 again.
        let later = now.addingTimeInterval(31 * 86_400)
        let fresh = try await store.decide([input("m-1", at: later)], context: context, now: later)
        #expect(fresh.first?.decision.currentCount == 1)
        try await store.close()
    }

    /// Every decision and its 12290 event are there after a restart; other events too.
    func keepsDecisionsAndEvents() async throws {
        var store = try await open()
        let decided = try await store.decide((1...5).map { input("d-\($0)") }, context: context, now: now)
        try await store.append([TallyEvent(id: .dnsPublishSucceeded, time: now, fields: ["domain": "example.com"])])
        try await store.close()
        store = try await open()
        let events = try await store.events(EventQuery(id: .requestHandled, limit: 100))
        #expect(events.map(\.seq) == decided.map(\.seq))
        #expect(events.map { $0.event.fields["cmid"] } == (1...5).map { "d-\($0)" })
        #expect(events.allSatisfy { $0.event.result == .countTooLow && $0.event.time == now })
        #expect(events.first?.event.fields["currentCount"] == "1")
        #expect(try await store.eventCount() == 6)
        #expect(try await store.lastEvent(.dnsPublishSucceeded)?.event.fields["domain"] == "example.com")
        #expect(try await store.totals()[.countTooLow] == 5)
        try await store.close()
    }

    /// Clients, events, usage and results read back as they were decided.
    func reads() async throws {
        let store = try await open()
        let yesterday = now.addingTimeInterval(-86_400)
        _ = try await store.decide((1...3).map { input("r-\($0)", at: yesterday) }, context: context, now: yesterday)
        _ = try await store.decide((2...4).map { input("r-\($0)") }, context: context, now: now)
        _ = try await store.decide([input("r-9")], context: DecisionContext(certificate: nil, intervals: ClientIntervals()), now: now)
        #expect(try await store.clientCount() == 4)
        let clients = try await store.clients(ClientQuery(limit: 10))
        #expect(clients.count == 4)
        #expect(clients.first(where: { $0.cmid == "r-2" })?.requests == 2)
        #expect(clients.first(where: { $0.cmid == "r-1" })?.lastSeen == yesterday)
        #expect(clients.first(where: { $0.cmid == "r-2" })?.firstSeen == yesterday)
        #expect(try await store.clients(ClientQuery(licenseStatus: "initial GRACE", limit: 10)).count == 4)
        #expect(try await store.clients(ClientQuery(sku: "other", limit: 10)).isEmpty)
        #expect(try await store.clients(ClientQuery(limit: 2, offset: 3)).count == 1)
        let today = CountWindow.day(of: now)
        let usage = try await store.usage(fromDay: today - 1, toDay: today)
        #expect(usage.map(\.machines) == [3, 3])
        let results = try await store.resultsByDay(since: today - 1)
        #expect(results.reduce(0) { $0 + $1.requests } == 7)
        #expect(results.first(where: { $0.result == .hostNotActivated })?.requests == 1)
        let newest = try await store.newestEvents(limit: 2)
        #expect(newest.map { $0.event.fields["cmid"] } == ["r-9", "r-4"])
        let since = try await store.events(EventQuery(since: now, limit: 100))
        #expect(since.count == 4)
        let after = try await store.events(EventQuery(afterSeq: since[1].seq, limit: 100))
        #expect(after.map(\.seq) == since.dropFirst(2).map(\.seq))
        #expect(try await store.counts(now: now)["client"] == 4)
        #expect(try await store.tableCounts()["clients"] == 4)
        try await store.close()
    }

    /// One CMID from two machines becomes a clone candidate, is reported once a day, and is listed.
    func clones() async throws {
        let store = try await open()
        _ = try await store.decide([input("clone", fingerprint: "fa"), input("solo")], context: context, now: now)
        _ = try await store.decide([input("clone", fingerprint: "fb")], context: context, now: now)
        try await store.catchUp()
        let candidates = store.takeCloneCandidates()
        #expect(candidates.map(\.cmid).contains("clone"))
        #expect(!candidates.map(\.cmid).contains("solo"))
        let event: @Sendable (CloneReport, Date) -> TallyEvent = { report, time in
            TallyEvent(id: .clonedImage, time: time, fields: ["cmid": report.image.cmid, "machines": String(report.image.machineCount)])
        }
        let reports = try await store.reportClones(candidates, event: event)
        #expect(reports.count == 1)
        #expect(reports.first?.image.machineCount == 2)
        #expect(Set(reports.first?.newFingerprints ?? []) == ["fa", "fb"])
        // The same day again: nothing.
        #expect(try await store.reportClones(candidates, event: event).isEmpty)
        #expect(try await store.events(EventQuery(id: .clonedImage, limit: 10)).count == 1)
        let images = try await store.clonedImages(since: CountWindow.day(of: now) - 29, limit: 10)
        #expect(images.map(\.cmid) == ["clone"])
        #expect(store.takeCloneCandidates().isEmpty)
        try await store.close()
    }

    /// Old events and old clients go; the rest stays.
    func retention() async throws {
        let store = try await open()
        let old = now.addingTimeInterval(-40 * 86_400)
        _ = try await store.decide([input("old-1", at: old), input("old-2", at: old)], context: context, now: old)
        _ = try await store.decide([input("new-1")], context: context, now: now)
        try await store.catchUp()
        #expect(try await store.deleteEvents(before: now.addingTimeInterval(-86_400)) == 2)
        #expect(try await store.eventCount() == 1)
        #expect(try await store.deleteClients(before: CountWindow.day(of: now) - 35) == 2)
        #expect(try await store.clientCount() == 1)
        #expect(try await store.counts(now: now)["client"] == 1)
        try await store.close()
    }

    /// Retention that deletes every event (a host idle longer than the retention): the next request is numbered
    /// above every earlier one, so the index applies it, and after a restart the machine is counted once.
    func retentionOfEveryEvent() async throws {
        var store = try await open()
        let old = now.addingTimeInterval(-40 * 86_400)
        let before = try await store.decide([input("idle-1", at: old), input("idle-2", at: old), input("idle-3", at: old)],
                                            context: context, now: old)
        try await store.catchUp()
        #expect(try await store.deleteEvents(before: now.addingTimeInterval(-86_400)) == 3)
        #expect(try await store.eventCount() == 0)
        let after = try await store.decide([input("back-1")], context: context, now: now)
        #expect(after.map(\.decision.currentCount) == [1])
        #expect(after[0].seq > before.map(\.seq).max() ?? 0)
        try await store.close()
        store = try await open()
        #expect(try await store.counts(now: now)["client"] == 1)
        #expect(try await store.clientCount() == 4)
        #expect(try await store.eventCount() == 1)
        let again = try await store.decide([input("back-1"), input("back-2")], context: context, now: now)
        #expect(again.map(\.decision.currentCount) == [1, 2])
        try await store.close()
    }
}
