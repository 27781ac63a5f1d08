import Testing
@testable import TallyDNS

@Suite struct SRVSelectionTests {
    func srv(_ priority: UInt16, _ weight: UInt16, _ host: String) -> SRVData {
        SRVData(priority: priority, weight: weight, port: 1688, target: name(host))
    }

    @Test func lowerPriorityAlwaysComesFirst() {
        var random = SeededRandom(seed: 1)
        let records = [srv(20, 100, "c"), srv(10, 1, "b1"), srv(0, 0, "a"), srv(10, 50, "b2"), srv(20, 0, "d")]
        for _ in 0..<1_000 {
            let ordered = SRVSelection.order(records, using: &random)
            #expect(ordered.map(\.priority) == [0, 10, 10, 20, 20])
            #expect(Set(ordered.map(\.target)) == Set(records.map(\.target)))
        }
    }

    @Test func weightsAreRoughlyProportionalOverManyDraws() {
        var random = SeededRandom(seed: 42)
        let records = [srv(0, 60, "heavy"), srv(0, 30, "middle"), srv(0, 10, "light")]
        var first: [String: Int] = [:]
        let draws = 30_000
        for _ in 0..<draws {
            first[SRVSelection.order(records, using: &random)[0].target.description, default: 0] += 1
        }
        // Expected shares 60 %, 30 %, 10 % (the draw is 0...100 inclusive, so a hair less for each).
        #expect(abs(Double(first["heavy.", default: 0]) / Double(draws) - 0.60) < 0.02)
        #expect(abs(Double(first["middle.", default: 0]) / Double(draws) - 0.30) < 0.02)
        #expect(abs(Double(first["light.", default: 0]) / Double(draws) - 0.10) < 0.02)
    }

    @Test func weightZeroIsRarelyFirstAmongWeightedRecords() {
        var random = SeededRandom(seed: 7)
        let records = [srv(0, 0, "zero"), srv(0, 100, "weighted")]
        var zeroFirst = 0
        let draws = 20_000
        for _ in 0..<draws where SRVSelection.order(records, using: &random)[0].target == name("zero") {
            zeroFirst += 1
        }
        // Only a draw of exactly 0 out of 0...100 picks it: about 1 %, never 0, never much more.
        #expect(zeroFirst > 0)
        #expect(Double(zeroFirst) / Double(draws) < 0.03)
    }

    @Test func allZeroWeightsShareTheLoadEvenly() {
        var random = SeededRandom(seed: 99)
        let records = [srv(0, 0, "a"), srv(0, 0, "b"), srv(0, 0, "c")]
        var first: [String: Int] = [:]
        for _ in 0..<9_000 {
            first[SRVSelection.order(records, using: &random)[0].target.description, default: 0] += 1
        }
        for host in ["a.", "b.", "c."] {
            #expect(abs(Double(first[host, default: 0]) / 9_000 - 1.0 / 3.0) < 0.03, "\(host)")
        }
    }

    @Test func theSameSeedGivesTheSameOrder() {
        let records = (0..<10).map { srv(UInt16($0 % 3), UInt16($0 * 7), "h\($0)") }
        var one = SeededRandom(seed: 5)
        var two = SeededRandom(seed: 5)
        #expect(SRVSelection.order(records, using: &one) == SRVSelection.order(records, using: &two))
    }

    @Test func dotTargetsMeanNotAvailableAndAreDropped() {
        var random = SeededRandom(seed: 3)
        #expect(SRVSelection.order([SRVData(priority: 0, weight: 0, port: 0, target: .root)], using: &random).isEmpty)
        #expect(SRVSelection.order([], using: &random).isEmpty)
    }
}
