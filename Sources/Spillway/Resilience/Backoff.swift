/// How long to wait before each retry: capped exponential growth with jitter, after the AWS Architecture Blog's
/// "Exponential Backoff and Jitter" (Marc Brooker, 2015).
///
/// With `n` the retry number (1 for the first retry) and `e = min(cap, base · 2ⁿ⁻¹)`:
/// - ``Jitter/none``: `e` (plain capped exponential; synchronised clients retry in lockstep, so avoid it);
/// - ``Jitter/full``: `U(0, e)` — the AWS recommendation and the default: least work for the server;
/// - ``Jitter/equal``: `e/2 + U(0, e/2)` — never retries almost at once;
/// - ``Jitter/decorrelated``: `min(cap, U(base, 3 · previous))` with `previous = base` before the first retry.
///
/// Delays are deterministic under a seeded ``RandomSource``.
///
/// ```swift
/// let backoff = Backoff(jitter: .decorrelated, base: .milliseconds(50), cap: .seconds(2))
/// var previous: Duration?
/// for retry in 1...3 {
///     let delay = backoff.delay(forRetry: retry, previous: previous, using: .system)
///     previous = delay
/// }
/// ```
public struct Backoff: Sendable, Hashable {
    /// How randomness spreads the retries of many clients apart.
    public enum Jitter: Sendable, Hashable {
        /// No randomness: `min(cap, base · 2ⁿ⁻¹)`.
        case none
        /// `U(0, min(cap, base · 2ⁿ⁻¹))` (AWS "full jitter").
        case full
        /// Half fixed, half random: `e/2 + U(0, e/2)` (AWS "equal jitter").
        case equal
        /// `min(cap, U(base, 3 · previous))` (AWS "decorrelated jitter").
        case decorrelated
    }

    /// The randomisation applied to the exponential delay. Default ``Jitter/full``.
    public var jitter: Jitter
    /// The scale of the first retry's delay. Default 100 ms (gRPC's `initialBackoff` in its retry design, A6).
    public var base: Duration
    /// The largest delay. Default 10 s.
    public var cap: Duration

    /// A backoff; a negative `base` is treated as zero and a `cap` below `base` as `base`.
    public init(jitter: Jitter = .full, base: Duration = .milliseconds(100), cap: Duration = .seconds(10)) {
        self.jitter = jitter
        self.base = max(.zero, base)
        self.cap = max(self.base, cap)
    }

    /// The delay before retry number `retry` (1 for the first retry).
    ///
    /// - Parameters:
    ///   - retry: The retry about to be made, from 1; smaller values are treated as 1.
    ///   - previous: The delay used before the previous retry (only ``Jitter/decorrelated`` uses it; `nil` for
    ///     the first retry).
    ///   - random: The source of jitter.
    public func delay(forRetry retry: Int, previous: Duration?, using random: RandomSource) -> Duration {
        let base = max(.zero, self.base).seconds
        let cap = max(self.base, self.cap).seconds
        let exponent = Double(min(max(retry, 1) - 1, 1023))
        let exponential = min(cap, base * Double.pow2(exponent))
        let seconds: Double
        switch jitter {
        case .none:
            seconds = exponential
        case .full:
            seconds = random.next(in: 0, exponential)
        case .equal:
            seconds = exponential / 2 + random.next(in: 0, exponential / 2)
        case .decorrelated:
            let last = max(previous?.seconds ?? base, base)
            seconds = min(cap, random.next(in: base, last * 3))
        }
        return .seconds(fractional: min(seconds, cap))
    }
}

extension Double {
    /// 2^exponent, saturating to infinity (which `min(cap, …)` then bounds).
    fileprivate static func pow2(_ exponent: Double) -> Double {
        exponent >= 1024 ? .infinity : Double(sign: .plus, exponent: Int(exponent), significand: 1)
    }
}
