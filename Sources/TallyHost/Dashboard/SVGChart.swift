import Foundation
import TallyCore
import TallyStore

/// Activations and refusals per day as an SVG bar chart, drawn on the server: no script, no library.
public struct SVGChart: Sendable {
    public struct Day: Sendable, Equatable {
        public var day: Int
        public var granted: Int
        public var refused: Int
        public var errors: Int

        public var total: Int { granted + refused + errors }
    }

    public var days: [Day]

    /// Folds results per day into the last `count` days ending `today`: success is granted, C004F038 refused
    /// (count too low), anything else an error; days without requests are zero.
    public init(results: [DailyResults], today: Int, count: Int = 30) {
        var byDay: [Int: Day] = [:]
        for entry in results {
            var day = byDay[entry.day] ?? Day(day: entry.day, granted: 0, refused: 0, errors: 0)
            switch entry.result {
            case .success: day.granted += entry.requests
            case .countTooLow: day.refused += entry.requests
            default: day.errors += entry.requests
            }
            byDay[entry.day] = day
        }
        days = (today - count + 1...today).map { byDay[$0] ?? Day(day: $0, granted: 0, refused: 0, errors: 0) }
    }

    static let width = 720, height = 220, left = 44, bottom = 24, top = 10

    /// A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten.
    static func axisMaximum(_ value: Int) -> Int {
        guard value > 0 else { return 1 }
        var power = 1
        while true {
            for step in [1, 2, 5] where step * power >= value { return step * power }
            power *= 10
        }
    }

    public func svg() -> String {
        let maximum = SVGChart.axisMaximum(days.map(\.total).max() ?? 0)
        let plotWidth = SVGChart.width - SVGChart.left - 8
        let plotHeight = SVGChart.height - SVGChart.bottom - SVGChart.top
        let slot = Double(plotWidth) / Double(max(days.count, 1))
        let barWidth = max(1.0, slot * 0.7)
        func y(_ value: Int) -> Double { Double(SVGChart.top) + Double(plotHeight) * (1 - Double(value) / Double(maximum)) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(SVGChart.width) \(SVGChart.height)\" width=\"100%\" role=\"img\" aria-labelledby=\"chart-title\">"
        out += "<title id=\"chart-title\">Activations and refusals per day, last \(days.count) days</title>"
        // Grid lines at whole numbers only: 0, ¼, ½, ¾ and all of the maximum, without repeats.
        var ticks: [Int] = []
        for fraction in [0, 1, 2, 3, 4] where !ticks.contains(maximum * fraction / 4) { ticks.append(maximum * fraction / 4) }
        for value in ticks {
            let lineY = number(y(value))
            out += "<line x1=\"\(SVGChart.left)\" x2=\"\(SVGChart.width - 8)\" y1=\"\(lineY)\" y2=\"\(lineY)\" stroke=\"#d0d7de\" stroke-width=\"1\"/>"
            out += "<text x=\"\(SVGChart.left - 6)\" y=\"\(number(y(value) + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#6e7781\">\(value)</text>"
        }
        for (index, day) in days.enumerated() {
            let x = Double(SVGChart.left) + slot * Double(index) + (slot - barWidth) / 2
            var base = 0
            for (value, colour, name) in [(day.granted, "#1a7f37", "granted"), (day.refused, "#d4a72c", "refused"), (day.errors, "#cf222e", "errors")] where value > 0 {
                let top = y(base + value), bottomY = y(base)
                out += "<rect class=\"\(name)\" data-day=\"\(DashboardFormat.day(day.day))\" data-value=\"\(value)\" x=\"\(number(x))\" y=\"\(number(top))\" width=\"\(number(barWidth))\" height=\"\(number(max(0.5, bottomY - top)))\" fill=\"\(colour)\">"
                out += "<title>\(DashboardFormat.day(day.day)): \(value) \(name)</title></rect>"
                base += value
            }
            if index % 5 == 0 || index == days.count - 1 {
                let label = String(DashboardFormat.day(day.day).dropFirst(5))
                out += "<text x=\"\(number(x + barWidth / 2))\" y=\"\(SVGChart.height - 6)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#6e7781\">\(label)</text>"
            }
        }
        out += "</svg>"
        return out
    }
}
