import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Live tests with real sockets under load run only with `SPILLWAY_LOAD_TESTS=1` (set by `scripts/test`).
let loadTestsEnabled = ProcessInfo.processInfo.environment["SPILLWAY_LOAD_TESTS"] == "1"

/// Polls `condition` every 10 ms for at most `timeout`: for live tests, where the server's event loops finish work
/// after the client has its answer.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while clock.now < end {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// The `p`-th percentile (0…1) of `values`, nearest rank.
func percentile(_ values: [Duration], _ p: Double) -> Duration {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .zero }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(sorted.count - 1, max(0, rank))]
}
