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
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case invalidArgument = "invalid_argument"
            case peerUnavailable = "peer_unavailable"
            case peerFailed = "peer_failed"
            case connectFailed = "connect_failed"
            case serverFailed = "server_failed"
            case ioFailed = "io_failed"
        }

        fileprivate let base: Base

        /// A parameter was out of range or could not be parsed.
        package static let invalidArgument = Code(base: .invalidArgument)
        /// A peer's binary (haproxy, nginx) is not installed.
        package static let peerUnavailable = Code(base: .peerUnavailable)
        /// A peer was installed but did not start or stopped early.
        package static let peerFailed = Code(base: .peerFailed)
        /// The target could not be reached at all.
        package static let connectFailed = Code(base: .connectFailed)
        /// The in-process victim could not start.
        package static let serverFailed = Code(base: .serverFailed)
        /// A report or configuration file could not be written.
        package static let ioFailed = Code(base: .ioFailed)

        package var description: String { base.rawValue }
    }

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
