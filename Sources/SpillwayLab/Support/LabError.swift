import Spillway

/// An error from the overload lab: bad input, a peer that would not start, or a run that could not be measured.
///
/// ```swift
/// do {
///     let profile = try RateProfile(parsing: "spike:10x@2s+3s", baseRate: 35, duration: .seconds(10))
/// } catch let error as LabError {
///     print(error)   // says what was wrong and how to fix it
/// }
/// ```
package struct LabError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    package typealias Code = ErrorCode<LabError>

    /// The kind of failure.
    package var code: Code
    /// What went wrong and what to do about it.
    package var message: String

    /// An error of kind `code` with a message a user can act on.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

extension ErrorCode<LabError> {
    /// A parameter was out of range or could not be parsed.
    package static var invalidArgument: Self { Self("invalid_argument") }
    /// A peer's binary (haproxy, nginx) is not installed.
    package static var peerUnavailable: Self { Self("peer_unavailable") }
    /// A peer was installed but did not start or stopped early.
    package static var peerFailed: Self { Self("peer_failed") }
    /// The target could not be reached at all.
    package static var connectFailed: Self { Self("connect_failed") }
    /// The in-process victim could not start.
    package static var serverFailed: Self { Self("server_failed") }
    /// A report or configuration file could not be written.
    package static var ioFailed: Self { Self("io_failed") }
}
