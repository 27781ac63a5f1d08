import Testing
@testable import TallyStore

/// When the SQLite store's indexer runs a round, from its ticks and wake-ups alone.
@Suite("Indexer cadence: rounds when the host goes quiet, when many rows wait, or every fifth busy tick")
struct IndexerCadenceTests {
    @Test("a quiet host is indexed at the next tick; nothing waiting, no round")
    func quiet() {
        var cadence = IndexerCadence()
        let ticks = [(false, 0), (false, 40), (false, 40), (false, 0)].map { cadence.shouldRun(signalled: $0.0, rows: $0.1) }
        // 40 rows came since the previous tick: busy; none since: quiet; nothing left: no round.
        #expect(ticks == [false, false, true, false])
    }

    @Test("a busy host goes at most five ticks without a round; a wake-up runs one at once")
    func busy() {
        var cadence = IndexerCadence()
        var rows = 0
        var runs: [Bool] = []
        for _ in 0..<12 {
            rows += 1_000
            let run = cadence.shouldRun(signalled: false, rows: rows)
            runs.append(run)
            if run { rows = 0 }
        }
        #expect(runs == [false, false, false, false, true, false, false, false, false, true, false, false])
        let woken = cadence.shouldRun(signalled: true, rows: 2_000)
        let next = cadence.shouldRun(signalled: false, rows: 1_000)
        #expect(woken)
        #expect(!next, "after a round, rows that came since are busy again")
    }
}
