import HTTPTypes
import Hummingbird
import Logging
import Spillway

/// Where a request's deadline comes from: the caller's remaining budget in a request header.
///
/// The header named ``header`` (default `x-request-timeout-ms`, ``TimeoutHeader/defaultName``) carries whole
/// milliseconds; with ``readsGRPCTimeout``, gRPC's `grpc-timeout` syntax (`250m`, `2S`) is read too. When both are
/// present the shorter budget wins. A malformed value is ignored with a debug log — never a `500`. Without a usable
/// header, ``defaultTimeout`` applies (none by default). Every budget, from either header or the default, is then
/// held to the same bounds: lowered to ``maximumTimeout`` (default 60 s), and refused as already spent (`504`) when
/// under ``minimumTimeout`` (default 1 ms).
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
    /// The largest budget accepted from a caller; larger ones are lowered to it. Default 60 s, the time nginx waits
    /// for an upstream by default (`proxy_read_timeout`): a caller cannot make the server keep work, queue slots or
    /// outbound budgets alive for longer than a proxy in front of it would wait. `nil` accepts budgets up to
    /// ``TimeoutHeader/maximum`` (about 11.6 days).
    public var maximumTimeout: Duration?
    /// The smallest budget worth starting: a request whose budget is below it is refused at once with `504`, as if its
    /// deadline had passed. Default 1 ms, the resolution of `x-request-timeout-ms` (where anything shorter is `0`), so
    /// `grpc-timeout: 1n` and `x-request-timeout-ms: 0` are treated alike instead of admitting work that cannot
    /// finish in time.
    public var minimumTimeout: Duration

    /// The default header name as a field name: `x-request-timeout-ms`.
    public static let defaultHeader = HTTPField.Name(TimeoutHeader.defaultName)!
    static let grpcHeader = HTTPField.Name(TimeoutHeader.grpcName)!

    /// The header names ``HeaderScan`` looks for on this configuration's behalf.
    var headerNames: (timeout: HTTPField.Name, grpcTimeout: HTTPField.Name?) {
        (header, readsGRPCTimeout ? Self.grpcHeader : nil)
    }

    /// A configuration; every parameter has the default documented on its property.
    public init(
        header: HTTPField.Name = DeadlineConfiguration.defaultHeader,
        readsGRPCTimeout: Bool = true,
        defaultTimeout: Duration? = nil,
        maximumTimeout: Duration? = .seconds(60),
        minimumTimeout: Duration = .milliseconds(1)
    ) {
        self.header = header
        self.readsGRPCTimeout = readsGRPCTimeout
        self.defaultTimeout = defaultTimeout
        self.maximumTimeout = maximumTimeout
        self.minimumTimeout = minimumTimeout
    }

    /// The budget the timeout header values ask for (``HeaderScan``), lowered to ``maximumTimeout``, or `nil` when
    /// they name none and there is no default.
    func timeout(milliseconds: String?, grpc: String?, logger: @autoclosure () -> Logger) -> Duration? {
        var budget: Duration?
        if let value = milliseconds {
            if let parsed = TimeoutHeader.parseMilliseconds(value) {
                budget = parsed
            } else {
                logger().debug(
                    "ignoring malformed timeout header",
                    metadata: ["header": "\(header)", "value": "\(value)"]
                )
            }
        }
        if readsGRPCTimeout, let value = grpc {
            if let parsed = TimeoutHeader.parseGRPCTimeout(value) {
                budget = budget.map { min($0, parsed) } ?? parsed
            } else {
                logger().debug("ignoring malformed grpc-timeout header", metadata: ["value": "\(value)"])
            }
        }
        guard let budget = budget ?? defaultTimeout else { return nil }
        return min(maximumTimeout ?? TimeoutHeader.maximum, budget)
    }

    /// The deadline step: the deadline in force for a request with `headers` arriving at `now` — its budget from
    /// `now`, or `inForce` (a deadline set by an outer scope) when that is earlier or the request names no budget.
    ///
    /// - Throws: ``SpillwayHTTPError`` `504` (`expired_on_arrival`) when that deadline has already passed or the
    ///   budget is under ``minimumTimeout``.
    func deadline(
        for headers: HeaderScan,
        logger: @autoclosure () -> Logger,
        now: Int64,
        inForce: Deadline?
    ) throws(SpillwayHTTPError) -> Deadline? {
        var deadline = inForce
        if let timeout = timeout(milliseconds: headers.timeout, grpc: headers.grpcTimeout, logger: logger()) {
            if timeout < minimumTimeout { throw .expiredOnArrival }
            let (end, overflow) = now.addingReportingOverflow(timeout.nanoseconds)
            deadline = Deadline(nanosecondsSinceOrigin: overflow ? .max : end).earliest(inForce)
        }
        if let deadline, deadline.hasPassed(atNanoseconds: now) { throw .expiredOnArrival }
        return deadline
    }
}

extension SpillwayHTTPError {
    /// The refusal of a request whose deadline had passed before any work started.
    static let expiredOnArrival = SpillwayHTTPError(code: .deadlineExceeded, reason: "expired_on_arrival")
}
