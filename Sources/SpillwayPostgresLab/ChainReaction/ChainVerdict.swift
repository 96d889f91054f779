/// The claims about the chain reaction, judged on one run's figures. A claim whose arm did not run is `nil`
/// (or absent).
///
/// - Without protection, B's `/local` fails too: its goodput while A's rows are locked is below
///   ``collapseThreshold`` (half) of what it offered.
/// - With Spillway (each protected arm on its own), `/local` keeps at least ``holdThreshold`` (95 %) of its goodput
///   during the lock,
/// - and every route recovers within ``recoveryBound`` (2 s) of the release (the lab's recovery rule).
package struct ChainVerdict: Sendable, Hashable, Codable {
    /// Below this share of its offered requests answered in time during the lock, `/local` has failed.
    package static let collapseThreshold = 0.5
    /// `/local`'s goodput share during the lock that a Spillway arm must keep.
    package static let holdThreshold = 0.95
    /// The longest recovery after the lock's release, in seconds, that a Spillway arm may take.
    package static let recoveryBound = 2.0

    /// The claims about one protected arm.
    package struct Protected: Sendable, Hashable, Codable {
        package var arm: ChainArm
        /// `/local` kept ≥ 95 % goodput during the lock.
        package var localHeld: Bool
        /// Every route recovered within 2 s of the release.
        package var recovered: Bool
    }

    /// The unprotected arm's `/local` collapsed during the lock.
    package var unprotectedLocalCollapsed: Bool?
    /// The claims about each protected arm that ran, in the order they ran.
    package var protected: [Protected]

    /// Judges `arms`.
    package init(_ arms: [ChainArmFigures]) {
        let unprotected = arms.first { $0.arm == .unprotected }
        unprotectedLocalCollapsed = unprotected?[.local].map { $0.goodputDuringLock < Self.collapseThreshold }
        protected = arms.filter { $0.arm != .unprotected }.map { arm in
            Protected(
                arm: arm.arm,
                localHeld: arm[.local].map { $0.goodputDuringLock >= Self.holdThreshold } ?? false,
                recovered: !arm.routes.isEmpty
                    && arm.routes.allSatisfy { route in
                        route.recoverySeconds.map { $0 <= Self.recoveryBound } ?? false
                    }
            )
        }
    }

    /// The claims about `arm`, when it ran.
    package subscript(arm: ChainArm) -> Protected? { protected.first { $0.arm == arm } }

    /// The claims as lines for the terminal.
    package var lines: [String] {
        func mark(_ value: Bool?) -> String { value.map { $0 ? "yes" : "NO" } ?? "not run" }
        var lines = [
            "unprotected: B's /local below \(Int(Self.collapseThreshold * 100)) % goodput during the lock: "
                + mark(unprotectedLocalCollapsed)
        ]
        for arm in protected {
            lines.append(
                "\(arm.arm.label): B's /local at least \(Int(Self.holdThreshold * 100)) % goodput during the lock: "
                    + mark(arm.localHeld)
            )
            lines.append(
                "\(arm.arm.label): every route back within \(Int(Self.recoveryBound)) s of the release: "
                    + mark(arm.recovered)
            )
        }
        return lines
    }
}
