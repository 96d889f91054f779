import Histogram

/// Percentiles of a latency distribution, in milliseconds.
package struct LatencySummary: Sendable, Hashable, Codable {
    /// How many values were recorded.
    package var count: Int
    /// Median.
    package var p50: Double
    /// 90th percentile.
    package var p90: Double
    /// 99th percentile.
    package var p99: Double
    /// 99.9th percentile.
    package var p999: Double
    /// Largest value.
    package var max: Double

    /// A summary of a histogram of microseconds; all zero when it is empty.
    init(microseconds histogram: Histogram<UInt64>) {
        count = Int(histogram.totalCount)
        guard histogram.totalCount > 0 else {
            p50 = 0
            p90 = 0
            p99 = 0
            p999 = 0
            max = 0
            return
        }
        p50 = Double(histogram.valueAtPercentile(50)) / 1000
        p90 = Double(histogram.valueAtPercentile(90)) / 1000
        p99 = Double(histogram.valueAtPercentile(99)) / 1000
        p999 = Double(histogram.valueAtPercentile(99.9)) / 1000
        max = Double(histogram.max) / 1000
    }
}
