import Foundation
import TallyCore
import TallyStore

/// Everything the dashboard shows, read from the running host in one go.
public struct DashboardData: Sendable {
    public var hostId: String
    public var activated: Bool
    public var certificateExpires: Date?
    public var activationAddress: String
    public var dnsPublishing: Bool
    /// Whether this admin interface needs a token (and so shows a log-out button).
    public var tokenRequired: Bool
    public var now: Date
    public var classes: [(name: String, current: Int, required: Int)]
    public var chart: SVGChart
    public var results: [HostStatusReport.ResultTotal]
    public var totalRequests: Int
    public var events: [StoredEvent]
    public var clients: [ClientRecord]
    public var warnings: [DashboardWarning]
    /// Machines new to the host per day of the count window, with their busiest address blocks.
    public var newMachines: [DailyNewMachines] = []
    /// With a shared store: the hosts serving the site.
    public var siteHosts: [StoreHost]?

    static let newestEvents = 25
    static let newestClients = 15

    public static func read(_ context: AdminContext) async throws -> DashboardData {
        let now = context.clock.now()
        let report = try await HostStatusReport.read(directory: context.directory, now: now, store: context.store)
        let live = try await context.counts()
        var classes = live.map { (name: $0.key, current: $0.value.current, required: $0.value.required) }
        if classes.isEmpty {
            classes = report.classes.map { (name: $0.key, current: $0.value.currentCount, required: $0.value.requiredCount) }
        }
        classes.sort { $0.name < $1.name }
        let today = CountWindow.day(of: now)
        let firstDay = today - Intervals.countWindowDays + 1
        let store = context.store
        let inputs = DashboardWarnings.Inputs(classes: classes, activated: report.activated, problem: report.problem,
                                              certificateExpires: report.certificateExpires,
                                              lastPublishFailure: try await store.lastEvent(.dnsPublishFailed),
                                              lastPublishSuccess: try await store.lastEvent(.dnsPublishSucceeded),
                                              clones: try await store.clonedImages(since: firstDay, limit: 20))
        var data = DashboardData(hostId: report.hostId, activated: report.activated, certificateExpires: report.certificateExpires,
                             activationAddress: context.activationAddress.description, dnsPublishing: report.dnsPublishing,
                             tokenRequired: context.access.requiresToken, now: now,
                             classes: classes, chart: SVGChart(results: try await store.resultsByDay(since: firstDay), today: today),
                             results: report.requestsByResult, totalRequests: report.totalRequests,
                             events: try await store.newestEvents(limit: newestEvents),
                             clients: try await store.clients(ClientQuery(limit: newestClients)),
                             warnings: DashboardWarnings.evaluate(inputs, now: now))
        data.siteHosts = report.siteHosts
        data.newMachines = try await store.newMachines(fromDay: firstDay, toDay: today, busiest: NewMachinesDay.busiestBlocks)
        return data
    }
}
