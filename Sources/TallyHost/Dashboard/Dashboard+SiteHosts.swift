import Foundation
import TallyCore
import TallyStore

extension Dashboard {
    /// With a shared store: the hosts serving the site, each with its address and its last answer. Empty for a
    /// host on its own SQLite store.
    static func siteHostsSection(_ hosts: [StoreHost]?) -> String {
        guard let hosts else { return "" }
        let e = HTML.escape
        var html = "<h2>Hosts serving the site</h2><table id=\"site-hosts\"><thead><tr><th>host id</th><th>address</th><th>started</th><th>last answer</th></tr></thead><tbody>"
        if hosts.isEmpty { html += "<tr><td colspan=\"4\" class=\"none\">No host has served from this store yet.</td></tr>" }
        for host in hosts {
            html += "<tr data-host=\"\(e(host.id))\"><td><code>\(e(host.id))</code></td><td>\(e(host.address))</td><td>\(e(DashboardFormat.time(host.started)))</td>"
                + "<td>\(e(host.lastAnswer.map { DashboardFormat.time($0) } ?? "never"))</td></tr>"
        }
        return html + "</tbody></table>"
    }
}
