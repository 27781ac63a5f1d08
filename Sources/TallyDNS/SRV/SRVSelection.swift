/// RFC 2782 target selection: the order in which a client tries the targets of an SRV RRset.
///
/// Lowest priority first. Within one priority the order is weighted random: each next target is drawn with
/// a chance proportional to its weight among those left. As the RFC says, records of weight 0 are placed
/// first before each draw, so among records with weights they have a very small chance of being drawn early
/// (only when the random number is 0), and when every weight is 0 the draw is uniform. A pure function: the
/// random source is an input, so tests can seed it.
public enum SRVSelection {
    /// The targets in the order to try them. Records whose target is `.` (service not available) are dropped.
    public static func order<R: RandomNumberGenerator>(_ records: [SRVData], using random: inout R) -> [SRVData] {
        let usable = records.filter { !$0.target.isRoot }
        let priorities = Set(usable.map(\.priority)).sorted()
        var ordered: [SRVData] = []
        ordered.reserveCapacity(usable.count)
        for priority in priorities {
            var remaining = usable.filter { $0.priority == priority }
            // "Any order, except that all those with weight 0 are placed at the beginning": shuffled, so that
            // equal weights (0 included) share the load.
            remaining.shuffle(using: &random)
            remaining = remaining.filter { $0.weight == 0 } + remaining.filter { $0.weight != 0 }
            while !remaining.isEmpty {
                let total = remaining.reduce(0) { $0 + UInt64($1.weight) }
                let draw = UInt64.random(in: 0...total, using: &random)
                var running: UInt64 = 0
                var chosen = remaining.count - 1
                for (index, record) in remaining.enumerated() {
                    running += UInt64(record.weight)
                    if running >= draw {
                        chosen = index
                        break
                    }
                }
                ordered.append(remaining.remove(at: chosen))
            }
        }
        return ordered
    }

    /// ``order(_:using:)`` with the system's random source.
    public static func order(_ records: [SRVData]) -> [SRVData] {
        var random = SystemRandomNumberGenerator()
        return order(records, using: &random)
    }
}
