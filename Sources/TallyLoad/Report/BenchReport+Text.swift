import Foundation

extension BenchReport {
    /// The report for people: a header, the table with a ratio column, and every problem at the end.
    public var text: String {
        var lines: [String] = []
        let signingText = signing.map { Self.grouped($0) }.joined(separator: " at the start, ") + " at the end"
        lines.append("tally bench: \(cores) cores; Ed25519 on one core \(Self.grouped(signaturesPerSecondOneCore)) signatures/s (\(signingText)); "
            + "\(Self.number(secondsPerMode)) s per mode, \(rounds) round\(rounds == 1 ? "" : "s") (median shown)")
        for host in hosts {
            lines.append("  \(host.label.padding(toLength: 9, withPad: " ", startingAt: 0)) \(host.binary) (protocol \(host.protocolVersion))")
        }
        if let workDirectory { lines.append("  state kept in \(workDirectory)") }
        lines.append("")
        let width = max(40, rows.map { $0.measure.count + $0.unit.count + 3 }.max() ?? 40)
        var header = "measure".padding(toLength: width, withPad: " ", startingAt: 0)
        for host in hosts { header += host.label.leftPadded(12) }
        if hosts.count > 1 { header += "this÷baseline".leftPadded(15) }
        lines.append(header)
        for row in rows {
            var line = (row.measure + (row.unit.isEmpty ? "" : ", \(row.unit)")).padding(toLength: width, withPad: " ", startingAt: 0)
            for value in row.values { line += (value.map { Self.format($0, unit: row.unit) } ?? "-").leftPadded(12) }
            if hosts.count > 1 { line += (row.ratio.map { String(format: "%.2f", $0) } ?? "-").leftPadded(15) }
            lines.append(line)
        }
        for host in hosts {
            for run in host.load + (host.paced.map { [$0] } ?? []) {
                lines.append("\(host.label) \(run.label): results \(LoadFigures.describe(run.results)); HTTP \(LoadFigures.describe(run.statuses)); "
                    + "format \(LoadFigures.describe(run.formats)); count check \(run.countCheck)")
            }
        }
        if let postgres {
            lines.append("")
            lines.append("PostgreSQL store \(postgres.store) (emptied before each set of hosts), this binary:")
            let width = max(40, postgres.rows.map { $0.measure.count + $0.unit.count + 3 }.max() ?? 40)
            for row in postgres.rows {
                let value = row.values.first.flatMap { $0 }.map { row.unit.isEmpty ? String(format: "%.2f", $0) : Self.format($0, unit: row.unit) } ?? "-"
                lines.append((row.measure + (row.unit.isEmpty ? "" : ", \(row.unit)")).padding(toLength: width, withPad: " ", startingAt: 0)
                    + value.leftPadded(12))
            }
            for run in [postgres.one, postgres.two, postgres.paced].compactMap({ $0 }) {
                lines.append("this \(run.label): results \(LoadFigures.describe(run.results)); HTTP \(LoadFigures.describe(run.statuses)); "
                    + "count check \(run.countCheck)")
            }
            lines.append("""
                Round trips are the hosts' tally_store_round_trips_total (/metrics, read just before and just after the load): \
                every flush of bytes to PostgreSQL, one per query, session startups included, ÷ grants.
                """)
        }
        for host in hosts {
            guard let profile = host.profile else { continue }
            lines.append("\(host.label) profile (\(profile.samples) samples), top leaf symbols: "
                + profile.topSymbols.prefix(10).map { "\($0.symbol) \(String(format: "%.1f", $0.percent))%" }.joined(separator: ", "))
        }
        lines.append("""

            CPU and disk bytes are the host's, from just before the load until it exited on SIGTERM (/proc/PID/stat and io, \
            then wait4's rusage), divided by the grants of the load; every answer measured is a grant to a new CMID past the \
            threshold. Paced latency counts from when each request was due.
            """)
        if problems.isEmpty {
            lines.append("No problems: every request got an answer, every answer was a grant, every count was right.")
        } else {
            lines.append("")
            lines.append("!!! \(problems.count) PROBLEM\(problems.count == 1 ? "" : "S"): do not trust the figures above")
            for problem in problems { lines.append("  - " + problem) }
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "/s", "B": return grouped(value)
        case "ms", "MB", "s": return String(format: value < 10 ? "%.2f" : "%.1f", value)
        case "µs", "%": return String(format: "%.1f", value)
        default: return value == value.rounded() ? grouped(value) : String(format: "%.2f", value)
        }
    }

    /// 41230.4 as "41,230".
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var result = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0, character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
