/// When the indexer runs a round, as a value (the service's ticks and wake-ups are its inputs).
///
/// A round rewrites every page of the index it touches: while requests keep coming, fewer, larger rounds write
/// each page of the clients, sightings and fingerprints once for many rows instead of once per round. So a tick
/// runs a round only when the host has gone quiet (no row since the previous tick) or when ``busyTicks`` ticks
/// passed without one; a wake-up (``SQLiteHostStore/indexerWakeRows`` rows wait) always runs one. Readers catch
/// the index up themselves before they read it, so what they show never waits for a round; clone candidates
/// wait at most ``busyTicks`` ticks.
struct IndexerCadence: Sendable {
    /// Ticks a busy host goes without a round at most (10 s at the default 2 s interval).
    static let busyTicks = 5
    private var rowsAtLastTick = 0
    private var ticksWithoutRound = 0

    /// Whether to run a round now: `signalled` by the store, or at a tick with `rows` unindexed.
    mutating func shouldRun(signalled: Bool, rows: Int) -> Bool {
        let run: Bool
        if signalled {
            run = true
        } else if rows == 0 {
            run = false
        } else {
            ticksWithoutRound += 1
            run = rows <= rowsAtLastTick || ticksWithoutRound >= IndexerCadence.busyTicks
        }
        if run || rows == 0 {
            // The round leaves (almost) nothing unindexed: rows at the next tick are rows that came since.
            ticksWithoutRound = 0
            rowsAtLastTick = 0
        } else {
            rowsAtLastTick = rows
        }
        return run
    }
}
