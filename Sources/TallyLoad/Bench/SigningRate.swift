import Crypto
import Foundation

/// Ed25519 signatures per second on one core (swift-crypto), over a message the size of an answer's signing
/// input: the yardstick the activation rate is divided by.
public enum SigningRate {
    public static func measure(seconds: Double = 1) -> Double {
        let key = Curve25519.Signing.PrivateKey()
        let message = Data(repeating: 0x61, count: 600)
        var count = 0
        let start = Clocks.monotonic()
        var now = start
        while now - start < seconds {
            for _ in 0..<200 { _ = try? key.signature(for: message) }
            count += 200
            now = Clocks.monotonic()
        }
        return Double(count) / (now - start)
    }
}
