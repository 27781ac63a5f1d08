import Foundation
import TallyCore
import TallyStore

/// The dashboard page at `/` on the admin port: plain HTML and an inline SVG drawn here, one stylesheet
/// allowed by its hash, no script. Every value that came from a client or the store is escaped.
public enum Dashboard {
    public static func page(_ data: DashboardData) -> String {
        let e = HTML.escape
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally host \(e(data.hostId))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="30">
            \(DashboardStyle.element)</head><body>
            \(data.tokenRequired ? "<form class=\"logout\" method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>" : "")
            <h1>Tally host</h1>
            <p class="meta">host <code id="host-id">\(e(data.hostId))</code> · activation port \(e(data.activationAddress)) ·
            \(data.activated ? "certificate valid until " + e(DashboardFormat.time(data.certificateExpires ?? data.now)) : "not activated") ·
            DNS publishing \(data.dnsPublishing ? "on" : "off") · \(e(DashboardFormat.time(data.now)))</p>
            """
        html += "<h2>Warnings</h2>"
        if data.warnings.isEmpty {
            html += "<p class=\"none\" id=\"no-warnings\">No warnings.</p>"
        } else {
            html += "<ul class=\"warnings\" id=\"warnings\">"
            for warning in data.warnings {
                html += "<li class=\"\(warning.level.rawValue)\" data-kind=\"\(warning.kind.rawValue)\">\(e(warning.text))<span class=\"remedy\">\(e(warning.remedy))</span></li>"
            }
            html += "</ul>"
        }

        html += "<h2>Count against threshold</h2><div class=\"classes\" id=\"classes\">"
        if data.classes.isEmpty { html += "<p class=\"none\">No classes: the host holds no valid certificate.</p>" }
        for entry in data.classes {
            let ratio = entry.required > 0 ? min(1, Double(entry.current) / Double(entry.required)) : 1
            let width = Int((ratio * 10).rounded(.down)) * 10
            let reached = entry.current >= entry.required
            html += """
                <div class="class" data-class="\(e(entry.name))"><div>\(e(entry.name)) class</div>
                <span class="n">\(entry.current)</span> <span class="of">of \(entry.required) machines · \(reached ? "activating" : "below threshold")</span>
                <div class="bar"><span class="w\(width)\(reached ? "" : " low")"></span></div></div>
                """
        }
        html += "</div>"
        html += siteHostsSection(data.siteHosts)

        html += "<h2>Activations and refusals, last \(data.chart.days.count) days</h2>"
        html += "<p class=\"legend\"><span class=\"ok\">■ granted</span><span class=\"low\">■ refused: count too low</span><span class=\"bad\">■ other errors</span></p>"
        html += "<div id=\"chart\">" + data.chart.svg() + "</div>"
        html += newMachinesSection(data.newMachines, today: CountWindow.day(of: data.now))

        html += "<h2>Requests by result</h2><table id=\"results\"><thead><tr><th>code</th><th>meaning</th><th class=\"num\">requests</th></tr></thead><tbody>"
        if data.results.isEmpty { html += "<tr><td colspan=\"3\" class=\"none\">No requests yet.</td></tr>" }
        for total in data.results {
            html += "<tr><td><code>\(e(total.result.hex))</code></td><td>\(e(total.result.info?.meaning ?? total.name))</td><td class=\"num\">\(total.requests)</td></tr>"
        }
        html += "</tbody><tfoot><tr><th colspan=\"2\">total</th><th class=\"num\">\(data.totalRequests)</th></tr></tfoot></table>"

        html += "<h2>Newest clients</h2><table id=\"clients\"><thead><tr><th>machine</th><th>CMID</th><th>SKU</th><th>state</th><th>last result</th><th>last seen</th></tr></thead><tbody>"
        if data.clients.isEmpty { html += "<tr><td colspan=\"6\" class=\"none\">No clients yet.</td></tr>" }
        for client in data.clients {
            html += "<tr><td class=\"machine\">\(e(client.machine))</td><td><code>\(e(client.cmid))</code></td><td>\(e(client.sku)) (\(e(client.productClass)))</td>"
                + "<td>\(e(client.licenseStatus))</td><td><code>\(e(client.lastResult.hex))</code></td><td>\(e(DashboardFormat.time(client.lastSeen)))</td></tr>"
        }
        html += "</tbody></table>"

        html += "<h2>Newest events</h2><table id=\"events\"><thead><tr><th class=\"num\">seq</th><th>id</th><th>time</th><th>result</th><th>details</th></tr></thead><tbody>"
        if data.events.isEmpty { html += "<tr><td colspan=\"5\" class=\"none\">No events yet.</td></tr>" }
        for stored in data.events {
            let event = stored.event
            html += "<tr><td class=\"num\">\(stored.seq)</td><td title=\"\(e(event.id.summary))\">\(event.id.rawValue)</td><td>\(e(DashboardFormat.time(event.time)))</td>"
                + "<td><code>\(e(event.result?.hex ?? ""))</code></td><td class=\"details\">\(e(details(event)))</td></tr>"
        }
        html += "</tbody></table></body></html>"
        return html
    }

    /// The fields an admin looks at first, in a fixed order.
    static func details(_ event: TallyEvent) -> String {
        let order = ["machine", "machines", "cmid", "sku", "currentCount", "minCount", "licenseStatus", "domain", "rcode", "failure", "message", "address",
                     "admitted", "budget"]
        return order.compactMap { name in event.fields[name].flatMap { $0.isEmpty ? nil : "\(name)=\($0)" } }.joined(separator: " ")
    }
}
