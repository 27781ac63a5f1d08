import Testing

/// The suites that start `named`, run one test at a time: each test has its own named on its own port, but the
/// machine has two cores, and a serving host, a named and a client at once are enough for it.
@Suite(.serialized) enum DNSScenarios {}
