/// Builds the victim's protection for each arm.
///
/// The `static` and `spillway` arms put Spillway's Hummingbird admission middleware in front of the victim's
/// bottleneck; until that middleware is part of the build they report themselves unavailable.
enum ProtectedArms {
    static var unavailableReason: String? {
        "the SpillwayHummingbird admission middleware is not part of this build yet"
    }

    static func protection(for arm: ArmKind, scenario: Scenario, options: ArmOptions) throws(LabError) -> any VictimProtection {
        switch arm {
        case .unprotected, .haproxy, .nginx:
            return Unprotected()
        case .static, .spillway:
            throw LabError(.peerUnavailable, "arm \(arm) cannot run: \(unavailableReason ?? "")")
        }
    }
}
