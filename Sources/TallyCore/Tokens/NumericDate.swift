import Foundation

/// Seconds since 1970, as JWT's NumericDate.
public typealias NumericDate = Int64

extension NumericDate {
    public init(_ date: Date) { self = Int64(date.timeIntervalSince1970.rounded(.down)) }
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(self)) }
}
