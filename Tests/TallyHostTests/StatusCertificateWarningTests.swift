import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// `tally host status` (and the admin API's status, which carries the same report) warns from 30 days before the
/// host certificate ends, as the dashboard does.
@Suite("Host status: the certificate warning from 30 days before expiry")
struct StatusCertificateWarningTests {
    @Test("no warning with more than 30 days left; from then on the days left and how it is renewed")
    func warning() async throws {
        let fixture = try ActivatedHost()
        let expires = fixture.certificate.expires
        let early = try await HostStatusReport.read(directory: fixture.host.directory, now: expires.addingTimeInterval(-31 * 86_400))
        #expect(early.certificateWarning == nil)
        let late = try await HostStatusReport.read(directory: fixture.host.directory, now: expires.addingTimeInterval(-10 * 86_400 - 60))
        let text = try #require(late.certificateWarning)
        #expect(text.contains("expires in 10 day(s)"), "\(text)")
        #expect(text.contains("tally host renew") && text.contains("12302"), "\(text)")
        #expect(DashboardWarnings.certificateExpiry(expires: expires, now: expires.addingTimeInterval(-29 * 86_400))?.level == .warning)
        #expect(DashboardWarnings.certificateExpiry(expires: expires, now: expires.addingTimeInterval(-3 * 86_400))?.level == .error)
    }
}
