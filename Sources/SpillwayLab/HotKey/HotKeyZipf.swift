import Foundation
import Spillway

/// Zipf-distributed key ranks for `hot-key`: rank `r` (0-based) has probability ∝ 1 / (r + 1)^s, drawn by
/// inverting the cumulative distribution (a binary search in a table of `keys` doubles).
struct HotKeyZipf: Sendable {
    private let cumulative: [Double]

    init(keys: Int, exponent: Double) {
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(keys)
        for rank in 1...max(1, keys) {
            total += 1 / pow(Double(rank), exponent)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    /// The share of requests that go to the `count` most popular keys.
    func share(ofTop count: Int) -> Double {
        guard count > 0 else { return 0 }
        return cumulative[min(count, cumulative.count) - 1]
    }

    func next(_ random: inout RandomSource) -> Int {
        let u = random.nextOpenUnit()
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
