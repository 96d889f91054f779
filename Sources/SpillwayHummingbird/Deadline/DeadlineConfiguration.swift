import HTTPTypes
import Hummingbird
import Logging
import Spillway

/// Where a request's deadline comes from: the caller's remaining budget in a request header.
///
/// The header named ``header`` (default `x-request-timeout-ms`, ``TimeoutHeader/defaultName``) carries whole
/// milliseconds; with ``readsGRPCTimeout``, gRPC's `grpc-timeout` syntax (`250m`, `2S`) is read too. When both are
/// present the shorter budget wins. A malformed value is ignored with a debug log — never a `500`. Without a usable
/// header, ``defaultTimeout`` applies (none by default), and every budget is capped at ``maximumTimeout``.
///
/// ```swift
/// var deadlines = DeadlineConfiguration()
/// deadlines.defaultTimeout = .seconds(5)      // requests without a header still get a deadline
/// deadlines.maximumTimeout = .seconds(30)     // callers cannot ask for more
/// router.add(middleware: DeadlineMiddleware(configuration: deadlines))
/// ```
public struct DeadlineConfiguration: Sendable {
    /// The millisecond budget header. Default `x-request-timeout-ms`.
    public var header: HTTPField.Name
    /// Also read `grpc-timeout`. Default `true`.
    public var readsGRPCTimeout: Bool
    /// The budget of a request without a usable header; `nil` (the default) leaves such requests without a deadline.
    public var defaultTimeout: Duration?
    /// The largest budget accepted from a caller; larger ones are lowered to it. Default `nil` (no cap).
    public var maximumTimeout: Duration?

    /// The default header name as a field name: `x-request-timeout-ms`.
    public static let defaultHeader = HTTPField.Name(TimeoutHeader.defaultName)!
    static let grpcHeader = HTTPField.Name(TimeoutHeader.grpcName)!

    /// A configuration; every parameter has the default documented on its property.
    public init(
        header: HTTPField.Name = DeadlineConfiguration.defaultHeader,
        readsGRPCTimeout: Bool = true,
        defaultTimeout: Duration? = nil,
        maximumTimeout: Duration? = nil
    ) {
        self.header = header
        self.readsGRPCTimeout = readsGRPCTimeout
        self.defaultTimeout = defaultTimeout
        self.maximumTimeout = maximumTimeout
    }

    /// The budget `request` asks for, or `nil` when it names none and there is no default.
    func timeout(for request: Request, logger: Logger) -> Duration? {
        var budget: Duration?
        if let value = request.headers[header] {
            if let parsed = TimeoutHeader.parseMilliseconds(value) {
                budget = parsed
            } else {
                logger.debug(
                    "ignoring malformed timeout header",
                    metadata: ["header": "\(header)", "value": "\(value)"]
                )
            }
        }
        if readsGRPCTimeout, let value = request.headers[Self.grpcHeader] {
            if let parsed = TimeoutHeader.parseGRPCTimeout(value) {
                budget = budget.map { min($0, parsed) } ?? parsed
            } else {
                logger.debug("ignoring malformed grpc-timeout header", metadata: ["value": "\(value)"])
            }
        }
        guard let budget = budget ?? defaultTimeout else { return nil }
        return maximumTimeout.map { min($0, budget) } ?? budget
    }
}
