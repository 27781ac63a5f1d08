import Foundation
import TallyCore

extension UsageReportAudit {
    /// Per host (per site for the hosts sharing a store: `site:ID`), the machines its reports say were new (first counted in a class), so a vendor sees an inflated
    /// count arrive: how many, over how many days, and the day with most, with how many of that day's came from
    /// its busiest address blocks (most from a few addresses suggests machines made up by one client).
    public struct NewMachines: Codable, Sendable, Equatable {
        public var hostId: String
        public var machines: Int
        public var days: Int
        public var busiestDay: String
        public var busiestDayMachines: Int
        /// Of ``busiestDayMachines``, those from the day's ``NewMachinesDay/busiestBlocks`` busiest address blocks.
        public var busiestDayFromBusiestBlocks: Int

        public init(hostId: String, machines: Int, days: Int, busiestDay: String, busiestDayMachines: Int, busiestDayFromBusiestBlocks: Int) {
            self.hostId = hostId
            self.machines = machines
            self.days = days
            self.busiestDay = busiestDay
            self.busiestDayMachines = busiestDayMachines
            self.busiestDayFromBusiestBlocks = busiestDayFromBusiestBlocks
        }
    }

    /// New machines per host over verified reports; a day in several reports counts once (its largest figure).
    /// Hosts whose reports carry no `new` member (hosts before it) are left out.
    static func newMachines(_ claims: [UsageReportClaims]) -> [NewMachines] {
        var perHost: [String: [String: NewMachinesDay]] = [:]
        for report in claims {
            for day in report.new ?? [] where day.machines > (perHost[report.chain]?[day.day]?.machines ?? -1) {
                perHost[report.chain, default: [:]][day.day] = day
            }
        }
        return perHost.compactMap { hostId, days -> NewMachines? in
            // The most new machines, the earliest such day on a tie.
            guard let busiest = days.values.max(by: { ($0.machines, $1.day) < ($1.machines, $0.day) }) else { return nil }
            return NewMachines(hostId: hostId, machines: days.values.reduce(0) { $0 + $1.machines }, days: days.count, busiestDay: busiest.day,
                               busiestDayMachines: busiest.machines, busiestDayFromBusiestBlocks: busiest.busiest)
        }.sorted { $0.hostId < $1.hostId }
    }
}
