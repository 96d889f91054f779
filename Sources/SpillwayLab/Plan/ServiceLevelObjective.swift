import Foundation
import Spillway

/// What a load run must show for a service to pass: `spillway lab run --slo p99=250ms,goodput=99%` exits non-zero
/// when the run misses it, so a CI pipeline can load-test a service at 2× its peak and fail the build.
///
/// - `p50`, `p90`, `p99`, `p999` (a duration): that percentile of the successful logical requests' latency as the
///   caller sees it (retries included, from the first intended send) is at most this.
/// - `goodput` (a percentage or a fraction): logical requests that succeeded within the caller's deadline, from their
///   first intended send (retries included), ÷ logical requests offered is at least this.
///
/// A run whose generator fell behind its schedule (``RunResult/isValid`` false) cannot be judged: its figures say
/// more about the load generator than about the service.
///
/// ```swift
/// let slo = try ServiceLevelObjective(parsing: "p99=250ms,goodput=99%")
/// let misses = slo.misses(in: result)   // [] when the run met every objective
/// ```
package struct ServiceLevelObjective: Sendable, Hashable, CustomStringConvertible {
    /// A latency percentile of the run.
    package enum Percentile: String, Sendable, Hashable, CaseIterable {
        case p50, p90, p99, p999

        func value(of summary: LatencySummary) -> Double {
            switch self {
            case .p50: summary.p50
            case .p90: summary.p90
            case .p99: summary.p99
            case .p999: summary.p999
            }
        }
    }

    /// An upper bound on one latency percentile.
    package struct LatencyBound: Sendable, Hashable {
        package var percentile: Percentile
        package var bound: Duration
    }

    /// Upper bounds on latency percentiles, in the order given.
    package var latency: [LatencyBound]
    /// The lowest acceptable share of logical requests that succeed (0…1), if any.
    package var goodput: Double?

    /// Parses `key=value` pairs separated by commas; throws naming the pair at fault.
    package init(parsing text: String) throws(LabError) {
        latency = []
        goodput = nil
        let pairs = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !pairs.isEmpty, pairs.allSatisfy({ !$0.isEmpty }) else {
            throw LabError(.invalidArgument, "an SLO reads like p99=250ms,goodput=99%, got '\(text)'")
        }
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw LabError(.invalidArgument, "SLO term '\(pair)' is not key=value (like p99=250ms)")
            }
            let (key, value) = (parts[0].lowercased(), parts[1])
            if let percentile = Percentile(rawValue: key) {
                guard let bound = Duration(parsing: value), bound > .zero else {
                    throw LabError(.invalidArgument, "SLO term '\(pair)': '\(value)' is not a positive duration")
                }
                guard !latency.contains(where: { $0.percentile == percentile }) else {
                    throw LabError(.invalidArgument, "SLO term '\(key)' is given twice")
                }
                latency.append(LatencyBound(percentile: percentile, bound: bound))
            } else if key == "goodput" {
                guard goodput == nil else { throw LabError(.invalidArgument, "SLO term 'goodput' is given twice") }
                goodput = try Self.share(value, pair: pair)
            } else {
                throw LabError(
                    .invalidArgument,
                    "unknown SLO term '\(key)': use p50, p90, p99, p999 (a duration) or goodput (a percentage)"
                )
            }
        }
    }

    private static func share(_ value: String, pair: String) throws(LabError) -> Double {
        let isPercent = value.hasSuffix("%")
        guard let number = Double(isPercent ? String(value.dropLast()) : value), number.isFinite else {
            throw LabError(.invalidArgument, "SLO term '\(pair)': '\(value)' is not a percentage (like 99%)")
        }
        let share = isPercent || number > 1 ? number / 100 : number
        guard (0...1).contains(share) else {
            throw LabError(.invalidArgument, "SLO term '\(pair)': goodput must be between 0 and 100 %")
        }
        return share
    }

    /// What the run missed, one line per objective (empty when it met them all). Throws when the run cannot be
    /// judged: the generator fell behind, or no request was offered.
    package func misses(in result: RunResult) throws(LabError) -> [String] {
        guard result.isValid else {
            throw LabError(
                .invalidArgument,
                "the run is invalid (send-lag p99 \(result.sendLag.p99) ms > \(RunResult.maximumValidLagMilliseconds) ms):"
                    + " the SLO cannot be judged"
            )
        }
        let totals = result.totals
        guard totals.offered > 0 else {
            throw LabError(.invalidArgument, "the run offered no request: the SLO cannot be judged")
        }
        var misses: [String] = []
        for term in latency {
            let (percentile, bound) = (term.percentile, term.bound.seconds * 1_000)
            let measured = percentile.value(of: result.endToEndLatency)
            if totals.endToEndSuccesses == 0 || measured > bound {
                let shown = totals.endToEndSuccesses == 0 ? "no success" : "\(Self.format(measured)) ms"
                misses.append("latency \(percentile.rawValue) \(shown) > \(Self.format(bound)) ms")
            }
        }
        if let goodput {
            let measured = Double(totals.endToEndSuccesses) / Double(totals.offered)
            if measured < goodput {
                misses.append("goodput \(Self.format(measured * 100)) % < \(Self.format(goodput * 100)) %")
            }
        }
        return misses
    }

    package var description: String {
        var terms = latency.map { "\($0.percentile.rawValue)=\(Self.format($0.bound.seconds * 1_000))ms" }
        if let goodput { terms.append("goodput=\(Self.format(goodput * 100))%") }
        return terms.joined(separator: ",")
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
    }
}
