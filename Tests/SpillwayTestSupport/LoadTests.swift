import Foundation

/// Whether load-heavy tests (real sockets under load, long lab runs) run: `scripts/test` sets
/// `SPILLWAY_LOAD_TESTS=1` and runs them one at a time in a release build.
///
/// ```swift
/// @Test(.enabled(if: loadTestsEnabled)) func holdsUnderLoad() async throws { … }
/// ```
package let loadTestsEnabled = ProcessInfo.processInfo.environment["SPILLWAY_LOAD_TESTS"] == "1"
