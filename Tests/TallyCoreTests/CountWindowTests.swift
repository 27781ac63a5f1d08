import Foundation
import TallyCore
import Testing

@Suite("Count window")
struct CountWindowTests {
    /// Day number of the fixed epoch, and a time within day `epochDay + n` at `hour` o'clock UTC.
    static let epochDay = CountWindow.day(of: Fixed.epoch)

    static func at(day n: Int, hour: Double = 12) -> Date {
        Fixed.epoch.addingTimeInterval(Double(n) * Fixed.day + hour * Fixed.hour)
    }

    @Test("day numbers are UTC days since 1970")
    func dayNumbers() {
        #expect(CountWindow.day(of: Date(timeIntervalSince1970: 0)) == 0)
        #expect(CountWindow.day(of: Date(timeIntervalSince1970: 86_399)) == 0)
        #expect(CountWindow.day(of: Date(timeIntervalSince1970: 86_400)) == 1)
        #expect(CountWindow.day(of: Date(timeIntervalSince1970: -1)) == -1)
        #expect(Self.epochDay == 20_454)
        #expect(CountWindow().days == 30)
    }

    @Test("machines are counted once each, however often they ask")
    func distinctCounting() {
        var window = CountWindow()
        for _ in 0..<5 {
            window.record("a", at: Self.at(day: 0))
            window.record("b", at: Self.at(day: 0, hour: 1))
        }
        window.record("a", at: Self.at(day: 3))
        window.record("c", at: Self.at(day: 4))
        #expect(window.count(at: Self.at(day: 4)) == 3)
        #expect(window.knownMachines == 3)
    }

    @Test("a machine seen on day d counts through day d+29 and not on day d+30")
    func windowEdges() {
        for d in [0, 1, 17] {
            var window = CountWindow()
            window.record("a", at: Self.at(day: d, hour: 23.99))
            #expect(window.count(at: Self.at(day: d, hour: 0)) == 1)
            #expect(window.count(at: Self.at(day: d + 29, hour: 0)) == 1)
            #expect(window.count(at: Self.at(day: d + 29, hour: 23.99)) == 1)
            #expect(window.count(at: Self.at(day: d + 30, hour: 0)) == 0)
            #expect(window.contains("a", at: Self.at(day: d + 29)))
            #expect(!window.contains("a", at: Self.at(day: d + 30)))
            // Not counted before the day it was seen.
            #expect(window.count(at: Self.at(day: d - 1)) == 0)
        }
    }

    @Test("recording by day number and by date agree")
    func recordByDay() {
        var byDate = CountWindow()
        var byDay = CountWindow()
        byDate.record("a", at: Self.at(day: 2))
        byDay.record("a", day: Self.epochDay + 2)
        #expect(byDate == byDay)
        #expect(byDay.count(at: Self.at(day: 31)) == 1)
        #expect(byDay.count(at: Self.at(day: 32)) == 0)
    }

    @Test("a new sighting moves the machine's last day forward")
    func resightingMoves() {
        var window = CountWindow()
        window.record("a", at: Self.at(day: 0))
        window.record("a", at: Self.at(day: 20))
        #expect(window.count(at: Self.at(day: 35)) == 1)
        #expect(window.count(at: Self.at(day: 49)) == 1)
        #expect(window.count(at: Self.at(day: 50)) == 0)
        #expect(window.knownMachines == 1)
        // Counted once, never twice, while both sightings are in the window.
        #expect(window.count(at: Self.at(day: 20)) == 1)
    }

    @Test("an older sighting does not move the machine back")
    func olderSightingIgnored() {
        var window = CountWindow()
        window.record("a", at: Self.at(day: 20))
        window.record("a", at: Self.at(day: 5))
        #expect(window.count(at: Self.at(day: 49)) == 1)
        #expect(window.count(at: Self.at(day: 50)) == 0)
    }

    @Test("count(including:) adds the asking machine only when it is not already in the window")
    func countIncluding() {
        var window = CountWindow()
        window.record("a", at: Self.at(day: 0))
        window.record("b", at: Self.at(day: 10))
        #expect(window.count(including: "a", at: Self.at(day: 10)) == 2)
        #expect(window.count(including: "c", at: Self.at(day: 10)) == 3)
        // a has aged out on day 30: asking again brings it back, counted once.
        #expect(window.count(at: Self.at(day: 30)) == 1)
        #expect(window.count(including: "a", at: Self.at(day: 30)) == 2)
        #expect(window.count(including: "b", at: Self.at(day: 30)) == 1)
        // Not recorded by asking.
        #expect(window.count(at: Self.at(day: 30)) == 1)
        #expect(CountWindow().count(including: "z", at: Self.at(day: 0)) == 1)
    }

    @Test("prune forgets machines out of the window and keeps the count")
    func prune() {
        var window = CountWindow()
        window.record("a", at: Self.at(day: 0))
        window.record("b", at: Self.at(day: 20))
        window.record("c", at: Self.at(day: 6))
        window.prune(before: Self.at(day: 35))
        // The window of day 35 starts on day 6: a goes, b and c stay.
        #expect(window.knownMachines == 2)
        #expect(window.count(at: Self.at(day: 35)) == 2)
        #expect(!window.contains("a", at: Self.at(day: 35)))
        #expect(window.count(including: "a", at: Self.at(day: 35)) == 3)
        // A pruned machine seen again counts from its new day.
        window.record("a", at: Self.at(day: 36))
        #expect(window.count(at: Self.at(day: 36)) == 2)
        #expect(window.count(at: Self.at(day: 65)) == 1)
        window.prune(before: Self.at(day: 100))
        #expect(window.knownMachines == 0)
        #expect(window == CountWindow())
    }

    @Test("a window of another length")
    func customLength() {
        var window = CountWindow(days: 7)
        window.record("a", at: Self.at(day: 0))
        #expect(window.count(at: Self.at(day: 6)) == 1)
        #expect(window.count(at: Self.at(day: 7)) == 0)
    }

    @Test("many machines on many days count exactly")
    func manyMachines() {
        var window = CountWindow()
        // Machine i asks on day i % 60; 1000 machines.
        for i in 0..<1000 { window.record("m\(i)", at: Self.at(day: i % 60)) }
        // On day 59 the window is days 30…59: machines with i % 60 >= 30.
        let expected = (0..<1000).filter { $0 % 60 >= 30 }.count
        #expect(window.count(at: Self.at(day: 59)) == expected)
        #expect(window.knownMachines == 1000)
    }

    @Test("classes count independently")
    func classesIndependent() {
        var counts = ClassCounts()
        counts.record("a", class: "client", at: Self.at(day: 0))
        counts.record("b", class: "client", at: Self.at(day: 0))
        counts.record("a", class: "server", at: Self.at(day: 0))
        counts.record("s", class: "server", day: Self.epochDay + 1)
        #expect(counts.count(class: "client", at: Self.at(day: 1)) == 2)
        #expect(counts.count(class: "server", at: Self.at(day: 1)) == 2)
        #expect(counts.count(class: "other", at: Self.at(day: 1)) == 0)
        #expect(counts.count(including: "c", class: "client", at: Self.at(day: 1)) == 3)
        #expect(counts.count(including: "b", class: "client", at: Self.at(day: 1)) == 2)
        #expect(counts.count(including: "b", class: "server", at: Self.at(day: 1)) == 3)
        #expect(counts.count(including: "x", class: "other", at: Self.at(day: 1)) == 1)
        #expect(Set(counts.windows.keys) == ["client", "server"])
        // The server sighting of a does not keep a in the client window.
        counts.record("a", class: "server", at: Self.at(day: 25))
        #expect(counts.count(class: "client", at: Self.at(day: 30)) == 0)
        #expect(counts.count(class: "server", at: Self.at(day: 30)) == 2)
    }
}
