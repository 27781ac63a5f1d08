import Foundation
import TallyCore
import TallyFiles

/// A Tally client for one vendor on one machine: installs client setup keys, activates them against a host,
/// renews them, and verifies the ticket it holds offline every time it is asked.
///
/// The client keeps its state in a directory (one per vendor and machine): the machine's CMID and licences, the
/// discovery settings and an event log. Every operation locks the directory and writes it atomically, so several
/// processes (the application and a renewal timer) may share it. What it trusts comes only from the application:
/// the vendor's roots are in the ``ClientProfile`` given to every client made, never read from the state
/// directory, which whoever runs on the machine can edit. A `profile.json` an older Tally stored there is ignored.
///
/// Every method takes the time as a parameter (defaulting to now) and blocks while it works: ``activate(sku:now:)``
/// waits for the network for at most the connect timeout plus the read timeout with a pinned host, and with DNS
/// discovery for at most the discovery deadline (``DiscoveryOptions/deadline``, 10 s by default) plus the timeouts
/// of the host being tried when it passes (see ``activate(sku:now:)``). Call it from a background thread in an
/// application with a user interface.
///
/// ```swift
/// let client = TallyClient(stateDirectory: dir, identity: try .current(), profile: profile)
/// try client.installKey("CXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
/// try client.setHost("kms.example.com")
/// let outcome = try client.activate()
/// ```
public struct TallyClient: Sendable {
    /// The state directory's path.
    public let stateDirectory: String
    /// The machine this client runs as.
    public let identity: MachineIdentity
    /// The vendor's client profile, which the application embeds: the only source of the roots it trusts.
    public let profile: ClientProfile
    /// How long to wait for each TCP connection to a host, in seconds.
    public var connectTimeout: TimeInterval
    /// How long to wait for a host's whole answer once connected, in seconds.
    public var readTimeout: TimeInterval

    /// Finds the hosts to try: the pinned host, the cached host, or DNS SRV discovery.
    package var locator: any HostLocator
    /// A random fraction in 0..<1 for the jitter added to retry and renewal times.
    package var randomFraction: @Sendable () -> Double

    let directory: StateDirectory

    static let machineFile = "machine.json"
    static let settingsFile = "settings.json"
    static let eventsFile = "events.jsonl"
    /// Where an older Tally stored the profile of the first install. Never read: a root added to it would be trusted.
    package static let legacyProfileFile = "profile.json"

    /// Creates a client over a state directory (created on first write, mode 0700).
    ///
    /// - Parameters:
    ///   - stateDirectory: one directory per vendor on this machine.
    ///   - identity: the machine: ``MachineIdentity/current()``.
    ///   - profile: the vendor's client profile, which the application embeds (decode it from the
    ///     `client-profile.json` the vendor publishes, shipped inside the application). Give it on every use: the
    ///     client stores no profile and trusts no root but these.
    ///   - connectTimeout: seconds to wait for a TCP connection to a host.
    ///   - readTimeout: seconds to wait for the host's answer once connected (while other discovered hosts
    ///     remain to be tried, at most the connect timeout, so a stalled host does not hold activation up).
    ///   - discovery: where DNS discovery finds name servers and search domains (resolv.conf by default).
    public init(stateDirectory: String, identity: MachineIdentity, profile: ClientProfile,
                connectTimeout: TimeInterval = 1, readTimeout: TimeInterval = 5, discovery: DiscoveryOptions = DiscoveryOptions()) {
        self.init(stateDirectory: stateDirectory, identity: identity, profile: profile, connectTimeout: connectTimeout,
                  readTimeout: readTimeout, locator: DNSHostLocator(options: discovery), randomFraction: { Double.random(in: 0..<1) })
    }

    /// The same with the host locator and the jitter source replaced (tests).
    package init(stateDirectory: String, identity: MachineIdentity, profile: ClientProfile, connectTimeout: TimeInterval,
                 readTimeout: TimeInterval, locator: any HostLocator, randomFraction: @escaping @Sendable () -> Double) {
        self.stateDirectory = stateDirectory
        self.identity = identity
        self.profile = profile
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.locator = locator
        self.randomFraction = randomFraction
        directory = StateDirectory(stateDirectory)
    }
}

// MARK: - State

/// Everything read from the state directory for one operation, with the clock reading taken.
struct ClientState {
    var profile: ClientProfile
    /// The profile's roots: the only keys a host certificate may be signed by.
    var roots: TrustedRoots
    var machine: ClientMachine
    var settings: ClientSettings
    /// The time to use: the clock, or its floor (the newest host-signed time, or the high-water mark) when the
    /// clock was set back.
    var clock: ClockGuard.Reading
    /// Whether this load found the state copied from another machine (and gave it a new CMID).
    var copied: Bool
    /// Whether this load replaced a CMID of an older Tally (no creation time) by a new one.
    var legacyCMIDReplaced: Bool
    /// The machine as read, to write only what changed.
    let machineAsRead: ClientMachine?
    let settingsAsRead: ClientSettings

    var now: Date { clock.trusted }

    /// The licence for `sku`, or the only one installed when `sku` is `nil`.
    func select(_ sku: String?) throws(TallyError) -> String {
        if let sku {
            guard machine.licenses[sku] != nil else {
                let installed = machine.licenses.keys.sorted()
                throw TallyError(.notInstalled, "no key for SKU \(sku) is installed"
                                    + (installed.isEmpty ? "" : " (installed: \(installed.joined(separator: ", ")))"),
                                 remedy: "Install the SKU's client setup key: `tally client ipk KEY`.")
            }
            return sku
        }
        let installed = machine.licenses.keys.sorted()
        switch installed.count {
        case 0:
            throw TallyError(.notInstalled, "no client setup key is installed", remedy: "Install one: `tally client ipk KEY`.")
        case 1:
            return installed[0]
        default:
            throw TallyError(.usageError, "several SKUs are installed (\(installed.joined(separator: ", "))); name one",
                             remedy: "Pass the SKU (`--sku ID` on the command line).")
        }
    }
}

extension TallyClient {
    /// Runs `body` holding the state directory's lock.
    func locked<T>(_ body: () throws(TallyError) -> T) throws(TallyError) -> T {
        do {
            return try directory.withLock { try body() }
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.stateUnreadable, "\(error)")
        }
    }

    func trustedRoots(of profile: ClientProfile) throws(TallyError) -> TrustedRoots {
        do {
            return try profile.trustedRoots()
        } catch {
            throw TallyError(.stateUnreadable, "the client profile's vendor roots are unusable: \(error.detail)",
                             remedy: "Use the client-profile.json the vendor publishes (`tally vendor catalog profile`).")
        }
    }

    func readSettings() throws(TallyError) -> ClientSettings {
        guard directory.exists(Self.settingsFile) else { return ClientSettings() }
        do {
            return try directory.readJSON(ClientSettings.self, from: Self.settingsFile)
        } catch {
            throw TallyError(.stateUnreadable, error.message,
                             remedy: "Fix or remove \(directory.file(Self.settingsFile).path); set the host again with `tally client skms HOST`.")
        }
    }

    func readMachine() throws(TallyError) -> ClientMachine? {
        guard directory.exists(Self.machineFile) else { return nil }
        do {
            return try directory.readJSON(ClientMachine.self, from: Self.machineFile)
        } catch {
            throw TallyError(.stateUnreadable, error.message,
                             remedy: "Restore \(directory.file(Self.machineFile).path) from a backup, or remove it and install the key again (`tally client ipk KEY`): the machine gets a new CMID and activates afresh.")
        }
    }

    /// Loads the state (under the lock), reads the clock and checks the state against this machine.
    ///
    /// The clock's floor is the newest host-signed time among the tokens held (see ``newestHostTime(in:roots:)``).
    /// A state copied from another machine, and a CMID of an older Tally whose licences need install grace (no
    /// genuine ticket), get a new CMID made at the trusted time.
    func load(now: Date) throws(TallyError) -> ClientState {
        let roots = try trustedRoots(of: profile)
        guard let read = try readMachine() else {
            throw TallyError(.notInstalled, "no client setup key is installed in \(directory.url.path)",
                             remedy: "Install the product's client setup key: `tally client ipk KEY`.")
        }
        var machine = read
        let reading = observeClock(&machine, now: now, roots: roots)
        let copied = machine.adopt(fingerprint: identity.fingerprint, now: reading.trusted)
        let legacy = !copied && replaceLegacyCMIDIfNeeded(&machine, roots: roots, now: reading.trusted)
        let settings = try readSettings()
        return ClientState(profile: profile, roots: roots, machine: machine, settings: settings, clock: reading, copied: copied,
                           legacyCMIDReplaced: legacy, machineAsRead: read, settingsAsRead: settings)
    }

    /// Reads the clock against the floor the state's host-signed tokens give.
    func observeClock(_ machine: inout ClientMachine, now: Date, roots: TrustedRoots) -> ClockGuard.Reading {
        machine.clock.observe(now, hostSigned: Self.newestHostTime(in: machine, roots: roots))
    }

    /// A CMID made by an older Tally carries no creation time, so no grace can be anchored to it. It is kept while
    /// every licence holds a genuine ticket for it (valid or expired: additional grace runs from the ticket's signed
    /// expiry); once a licence needs install grace (never activated, installed after the update, or a ticket that
    /// does not verify), the machine moves to a new CMID and activates afresh. Returns whether it did.
    func replaceLegacyCMIDIfNeeded(_ machine: inout ClientMachine, roots: TrustedRoots, now: Date) -> Bool {
        guard machine.hasLegacyCMID else { return false }
        let needsGrace = machine.licenses.values.contains { license in
            switch checkTicket(license, machine: machine, roots: roots, now: now).0 {
            case .none, .invalid: return true
            case .valid, .expired: return false
            }
        }
        guard needsGrace else { return false }
        machine.replaceLegacyCMID(now: now)
        return true
    }

    /// Writes what changed.
    func save(_ state: ClientState) throws(TallyError) {
        if state.machine != state.machineAsRead { try directory.writeJSON(state.machine, to: Self.machineFile) }
        if state.settings != state.settingsAsRead { try directory.writeJSON(state.settings, to: Self.settingsFile) }
    }
}
