import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Spillway

/// How HTTP results count for the resilience strategies.
enum HTTPOutcome {
    /// RFC 9110 §9.2.2: methods whose intended effect is the same however often they are sent.
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: true
        default: false
        }
    }

    /// The classifier for one request.
    ///
    /// - Retryable statuses (429, 502, 503, 504 by default) are retryable failures for requests that may be
    ///   repeated, carrying the `Retry-After` delay; for others, plain failures.
    /// - Other 5xx are failures; everything else, 4xx included, is a success of the dependency.
    /// - A connection that could not be established is retryable for every request whose body can be sent again
    ///   (`resendable`): nothing was sent.
    /// - A timed-out attempt or a broken connection is retryable only for requests that may be repeated.
    static func classifier(
        retryable: Bool,
        resendable: Bool = true,
        statuses: Set<UInt>
    ) -> OutcomeClassifier<HTTPClientResponse> {
        OutcomeClassifier { result in
            switch result {
            case .success(let response):
                let code = response.status.code
                if statuses.contains(code) {
                    guard retryable else { return .failure }
                    let header = response.headers.first(name: RetryAfterHeader.name)
                    return .retryableFailure(retryAfter: header.flatMap { RetryAfterHeader.parse($0, now: Date()) })
                }
                return code >= 500 ? .failure : .success
            case .failure(let error):
                if isConnectionFailure(error) { return resendable ? .retryable : .failure }
                // The caller's own limit, not a failure of the dependency.
                if error is NIOTooManyBytesError { return .success }
                if let error = error as? HTTPClientError, error == .deadlineExceeded { return .failure }
                if let error = error as? ResilienceError, error.code != .timedOut { return .failure }
                return retryable ? .retryable : .failure
            }
        }
    }

    /// Whether the request failed before any byte of it could have reached the server.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout || error == .getConnectionFromPoolTimeout
        case is NIOConnectionError:
            return true
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError:
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default:
            return false
        }
    }
}
