import Foundation
import TallyCore
import TallyStore

extension Dashboard {
    /// New machines per day and the share from the busiest addresses: a count inflated by invented CMIDs shows
    /// as many new machines from few address blocks.
    static func newMachinesSection(_ days: [DailyNewMachines], today: Int) -> String {
        let e = HTML.escape
        var html = "<h2>New machines per day</h2><table id=\"new-machines\"><thead><tr><th>day</th><th class=\"num\">new machines</th>"
            + "<th class=\"num\">addresses</th><th class=\"num\">from the \(NewMachinesDay.busiestBlocks) busiest</th><th>busiest address</th></tr></thead><tbody>"
        if days.isEmpty { html += "<tr><td colspan=\"5\" class=\"none\">No new machines in the last \(Intervals.countWindowDays) days.</td></tr>" }
        for day in days.sorted(by: { $0.day > $1.day }) {
            let share = Int((day.busiestShare * 100).rounded())
            let top = day.busiest.first.map { "\($0.block) (\($0.machines))" } ?? ""
            html += "<tr data-day=\"\(day.day)\"><td>\(e(DashboardFormat.day(day.day)))\(day.day == today ? " (today)" : "")</td><td class=\"num\">\(day.machines)</td>"
                + "<td class=\"num\">\(day.addresses)</td><td class=\"num\">\(share)%</td><td><code>\(e(top))</code></td></tr>"
        }
        return html + "</tbody></table>"
    }
}
