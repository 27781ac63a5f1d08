import Foundation
import TallyCore

/// A machine seen under one CMID: one fingerprint with the name it last sent.
public struct FingerprintSighting: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var machine: String
    public var lastDay: Int

    public init(fingerprint: String, machine: String, lastDay: Int) {
        self.fingerprint = fingerprint
        self.machine = machine
        self.lastDay = lastDay
    }
}

/// One CMID seen from several machines in the count window, as event 12300 and the dashboard show it: a bounded
/// list of its machines and how many there are in all.
public struct ClonedImage: Sendable, Equatable {
    public var cmid: String
    /// At most ``CloneLimits/listed`` machines, newest first.
    public var machines: [FingerprintSighting]
    /// Every machine (fingerprint) seen with this CMID in the window.
    public var machineCount: Int

    public init(cmid: String, machines: [FingerprintSighting], machineCount: Int) {
        self.cmid = cmid
        self.machines = machines
        self.machineCount = machineCount
    }
}

/// What one report of a cloned image (event 12300) says.
public struct CloneReport: Sendable, Equatable {
    /// The machines listed start with the newly reported ones.
    public var image: ClonedImage
    /// Fingerprints not reported before, at most ``CloneLimits/listed`` of them.
    public var newFingerprints: [String]
    /// How many fingerprints this report is the first to report.
    public var newFingerprintCount: Int

    public init(image: ClonedImage, newFingerprints: [String], newFingerprintCount: Int) {
        self.image = image
        self.newFingerprints = newFingerprints
        self.newFingerprintCount = newFingerprintCount
    }
}

/// A CMID the store saw again with a fingerprint it tracks: it may be a cloned image to report.
public struct CloneCandidate: Sendable, Equatable {
    public var cmid: String
    /// The day (of the decision's time) it was seen, and that time.
    public var day: Int
    public var time: Date
    /// The fingerprints it was seen with.
    public var fingerprints: [String]

    public init(cmid: String, day: Int, time: Date, fingerprints: [String]) {
        self.cmid = cmid
        self.day = day
        self.time = time
        self.fingerprints = fingerprints
    }
}

/// How much one cloned-image report says at most.
public enum CloneLimits {
    /// Machines named in one event 12300 or one dashboard warning at most.
    public static let listed = 20
}
