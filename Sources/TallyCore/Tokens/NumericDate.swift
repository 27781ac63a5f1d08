import Foundation

/// Seconds since 1970, as JWT's NumericDate.
public typealias NumericDate = Int64

extension NumericDate {
    /// Seconds, rounded down; a date outside what Int64 holds (or NaN) is clamped rather than trapping, since
    /// dates also come from tokens before their signature is checked.
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        if seconds.isNaN {
            self = 0
        } else if seconds >= 9.2e18 {
            self = Int64.max / 2
        } else if seconds <= -9.2e18 {
            self = Int64.min / 2
        } else {
            self = Int64(seconds)
        }
    }
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(self)) }
}
