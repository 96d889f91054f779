#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Probabilistic early expiration, "XFetch" (Vattani, Chierichetti, Lowenstein: *Optimal Probabilistic Cache
/// Stampede Prevention*, VLDB 2015).
///
/// Each read of a fresh entry refreshes it early when `now − δ·β·ln(U) ≥ expiry`, with δ the time the entry
/// took to load, β ≥ 0 the eagerness and U uniform on (0, 1). Since −ln U is exponentially distributed, the
/// probability of an early refresh at a distance `g` before expiry is `exp(−g / (δ·β))`: negligible long before
/// expiry, near one in the last δ·β, so one reader — not all of them at once — refreshes a hot key shortly before
/// it expires.
@usableFromInline
enum EarlyExpiration {
    /// U has 53 random bits and is never below 2⁻⁵⁴, so −ln U never exceeds 54·ln 2: farther from expiry than
    /// that many δ·β, an early refresh is impossible and no random number needs to be drawn.
    @usableFromInline static let largestExponential = 54 * M_LN2

    /// Whether a read at `now` of an entry fresh until `expiresAt` that took `loadNanoseconds` to load refreshes
    /// it early. Draws one random number only when a refresh is possible.
    @inlinable @inline(__always)
    static func shouldRefresh(
        now: Int64,
        expiresAt: Int64,
        loadNanoseconds: Int64,
        beta: Double,
        random: RandomSource
    ) -> Bool {
        let gap = expiresAt &- now
        if gap <= 0 { return true }
        let scale = Double(loadNanoseconds) * beta
        guard scale > 0 else { return false }
        let threshold = Double(gap) / scale
        guard threshold <= largestExponential else { return false }
        return -log(random.nextOpenUnit()) >= threshold
    }
}
