import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Event retention", .serialized)
struct RetentionTests {
    @Test("events older than event-retention-days go at start and at each daily sweep; counts and sightings stay")
    func retention() async throws {
        let start = LiveHost.wholeSecondNow()
        let clock = HostClock.manual(start)
        let fixture = try ActivatedHost(now: start)
        var settings = HostSettings()
        settings.eventRetentionDays = 10
        // Events from before the host first served: 20 and 5 days old.
        let store = try SQLiteHostStore(path: fixture.host.directory.file(HostRuntime.storeFile).path)
        try await store.append([TallyEvent(id: .dnsPublishSucceeded, time: start.addingTimeInterval(-20 * 86_400)),
                          TallyEvent(id: .dnsPublishSucceeded, time: start.addingTimeInterval(-5 * 86_400))])
        let host = try await LiveHost(fixture: fixture, clock: clock, settings: settings)
        defer { Task { await host.stop() } }
        #expect(try await host.runtime.store.eventCount() == 1)

        _ = try host.activate(LiveHost.Machine())
        #expect(try await host.runtime.store.eventCount() == 2)
        // Eight days on, the daily sweep takes the one that is now 13 days old.
        clock.advance(by: 8 * 86_400)
        let retention = EventRetention(store: host.runtime.store, directory: fixture.host.directory, clock: clock, logger: LiveHost.quietLogger)
        await retention.run(rounds: 1, wait: { _ in })
        #expect(try await host.runtime.store.eventCount() == 1)
        // Three more days: the activation's event is 11 days old and goes too; its sighting and client stay.
        clock.advance(by: 3 * 86_400)
        #expect(try await retention.sweep() == 1)
        #expect(try await host.runtime.store.eventCount() == 0)
        #expect(try await host.runtime.store.tableCounts()["clients"] == 1)
        #expect(try await host.runtime.store.tableCounts()["sightings"] == 1)
        #expect(try await host.runtime.store.totals()[.countTooLow] == 1)
    }

    @Test("the cutoff is the retention in days before now; the default is 400 days")
    func cutoff() {
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        #expect(EventRetention.cutoff(now: now, days: 400) == now.addingTimeInterval(-400 * 86_400))
        #expect(HostSettings().eventRetentionDays == 400)
    }
}
