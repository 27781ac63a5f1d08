import Foundation

/// The machines new to the host on one day and where they came from: an inflated count shows as many new
/// machines from few addresses.
public struct DailyNewMachines: Codable, Sendable, Equatable {
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    /// Machines counted for the first time in a class that day.
    public var machines: Int
    /// Address blocks (IPv6 by /64) they came from.
    public var addresses: Int
    /// The busiest blocks, busiest first.
    public var busiest: [BlockMachines]

    public init(day: Int, machines: Int, addresses: Int, busiest: [BlockMachines]) {
        self.day = day
        self.machines = machines
        self.addresses = addresses
        self.busiest = busiest
    }

    /// The share of the day's new machines that came from the busiest blocks (0 on a day without any).
    public var busiestShare: Double {
        machines == 0 ? 0 : Double(busiest.reduce(0) { $0 + $1.machines }) / Double(machines)
    }
}

/// New machines from one address block.
public struct BlockMachines: Codable, Sendable, Equatable {
    public var block: String
    public var machines: Int

    public init(block: String, machines: Int) {
        self.block = block
        self.machines = machines
    }
}
