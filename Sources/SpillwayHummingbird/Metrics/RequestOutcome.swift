import HTTPTypes
import Hummingbird
import Spillway

/// How one request ended, as the `outcome` label of Spillway's HTTP metrics.
///
/// | label | meaning |
/// |---|---|
/// | `success` | 1xx–3xx, finished within the caller's deadline (or without one): **goodput** |
/// | `late` | 1xx–3xx, but after the caller's deadline: wasted work |
/// | `shed` | refused by admission control (`503`) |
/// | `expired` | refused because the caller's deadline had passed or could not be met (`504`) |
/// | `rate_limited` | refused by a rate limit (`429`) |
/// | `client_error` | any other 4xx |
/// | `error` | any other 5xx, or a handler error without a status |
/// | `aborted` | the response body could not be written (the client went away) |
///
/// A body of one buffer up to 64 KiB is handed to NIO whole (``CompletionBuffer``), and a failed socket write of it
/// is not seen: such a request counts by its status.
enum RequestOutcome: String, Sendable, Hashable, CaseIterable {
    case success
    case late
    case shed
    case expired
    case rateLimited = "rate_limited"
    case clientError = "client_error"
    case error
    case aborted

    /// The case's position, for hashing without the raw value's string.
    var ordinal: Int {
        switch self {
        case .success: 0
        case .late: 1
        case .shed: 2
        case .expired: 3
        case .rateLimited: 4
        case .clientError: 5
        case .error: 6
        case .aborted: 7
        }
    }

    /// The outcome of a response with `status`, finished `onTime` or not.
    init(status: HTTPResponse.Status, onTime: Bool) {
        switch status.code {
        case 100..<400: self = onTime ? .success : .late
        case 400..<500: self = .clientError
        default: self = .error
        }
    }

    /// The status and outcome of a request whose handler (or an inner middleware) threw `error`.
    static func of(_ error: any Error) -> (HTTPResponse.Status, RequestOutcome) {
        if let rejection = error as? AdmissionRejection {
            return of(SpillwayHTTPError(rejection))
        }
        if let refusal = error as? SpillwayHTTPError {
            switch refusal.code {
            case .overloaded: return (refusal.status, .shed)
            case .rateLimited: return (refusal.status, .rateLimited)
            default: return (refusal.status, .expired)
            }
        }
        if let error = error as? any HTTPResponseError {
            return (error.status, RequestOutcome(status: error.status, onTime: true))
        }
        return (.internalServerError, .error)
    }
}
