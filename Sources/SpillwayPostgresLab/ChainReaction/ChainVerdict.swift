/// The claims about the chain reaction, judged on one run's figures. A claim whose arm did not run is `nil`.
///
/// - Without protection, B's `/local` fails too: its goodput while A's rows are locked is below
///   ``collapseThreshold`` (half) of what it offered.
/// - With Spillway, `/local` keeps at least ``holdThreshold`` (95 %) of its goodput during the lock,
/// - and every route recovers within ``recoveryBound`` (2 s) of the release (the lab's recovery rule).
package struct ChainVerdict: Sendable, Hashable, Codable {
    /// Below this share of its offered requests answered in time during the lock, `/local` has failed.
    package static let collapseThreshold = 0.5
    /// `/local`'s goodput share during the lock that the Spillway arm must keep.
    package static let holdThreshold = 0.95
    /// The longest recovery after the lock's release, in seconds, that the Spillway arm may take.
    package static let recoveryBound = 2.0

    /// The unprotected arm's `/local` collapsed during the lock.
    package var unprotectedLocalCollapsed: Bool?
    /// The Spillway arm's `/local` kept ≥ 95 % goodput during the lock.
    package var spillwayLocalHeld: Bool?
    /// Every route of the Spillway arm recovered within 2 s of the release.
    package var spillwayRecovered: Bool?

    /// Judges `arms`.
    package init(_ arms: [ChainArmFigures]) {
        let unprotected = arms.first { $0.arm == .unprotected }
        let spillway = arms.first { $0.arm == .spillway }
        unprotectedLocalCollapsed = unprotected?[.local].map { $0.goodputDuringLock < Self.collapseThreshold }
        spillwayLocalHeld = spillway?[.local].map { $0.goodputDuringLock >= Self.holdThreshold }
        spillwayRecovered = spillway.map { arm in
            !arm.routes.isEmpty
                && arm.routes.allSatisfy { route in route.recoverySeconds.map { $0 <= Self.recoveryBound } ?? false }
        }
    }

    /// The claims as lines for the terminal.
    package var lines: [String] {
        func mark(_ value: Bool?) -> String { value.map { $0 ? "yes" : "NO" } ?? "not run" }
        return [
            "unprotected: B's /local below \(Int(Self.collapseThreshold * 100)) % goodput during the lock: "
                + mark(unprotectedLocalCollapsed),
            "spillway: B's /local at least \(Int(Self.holdThreshold * 100)) % goodput during the lock: "
                + mark(spillwayLocalHeld),
            "spillway: every route back within \(Int(Self.recoveryBound)) s of the release: "
                + mark(spillwayRecovered),
        ]
    }
}
