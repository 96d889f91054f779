import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Spillway
import Testing

@testable import SpillwayHTTPClient

@Suite struct HTTPOutcomeTests {
    private func response(
        _ status: HTTPResponseStatus,
        retryAfter: String? = nil
    ) -> Result<HTTPClientResponse, any Error> {
        var headers = HTTPHeaders()
        if let retryAfter { headers.add(name: "Retry-After", value: retryAfter) }
        return .success(HTTPClientResponse(status: status, headers: headers))
    }

    private let idempotent = HTTPOutcome.classifier(retryable: true, statuses: [429, 502, 503, 504])
    private let unsafe = HTTPOutcome.classifier(retryable: false, statuses: [429, 502, 503, 504])

    @Test func retryableStatusesCarryRetryAfter() {
        #expect(idempotent.classify(response(.serviceUnavailable)) == .retryable)
        #expect(
            idempotent.classify(response(.tooManyRequests, retryAfter: "2"))
                == .retryableFailure(retryAfter: .seconds(2))
        )
        #expect(idempotent.classify(response(.badGateway, retryAfter: "garbage")) == .retryable)
        #expect(idempotent.classify(response(.gatewayTimeout)) == .retryable)
    }

    @Test func otherStatusesAreNeverRetried() {
        #expect(idempotent.classify(response(.ok)) == .success)
        #expect(idempotent.classify(response(.notFound)) == .success)
        #expect(idempotent.classify(response(.badRequest)) == .success)
        #expect(idempotent.classify(response(.conflict)) == .success)
        #expect(idempotent.classify(response(.internalServerError)) == .failure)
        #expect(idempotent.classify(response(.notImplemented)) == .failure)
    }

    @Test func nonIdempotentRequestsAreRetriedOnlyWhenNothingWasSent() {
        #expect(unsafe.classify(response(.serviceUnavailable)) == .failure)
        #expect(unsafe.classify(.failure(HTTPClientError.remoteConnectionClosed)) == .failure)
        #expect(unsafe.classify(.failure(HTTPClientError.connectTimeout)) == .retryable)
        #expect(unsafe.classify(.failure(IOError(errnoCode: ECONNREFUSED, reason: "connect"))) == .retryable)
        #expect(unsafe.classify(.failure(ChannelError.connectTimeout(.seconds(1)))) == .retryable)
    }

    @Test func transportErrorsAndTimeouts() {
        #expect(idempotent.classify(.failure(HTTPClientError.remoteConnectionClosed)) == .retryable)
        #expect(idempotent.classify(.failure(HTTPClientError.deadlineExceeded)) == .failure)
        #expect(idempotent.classify(.failure(ResilienceError(.timedOut, source: "x"))) == .retryable)
        #expect(unsafe.classify(.failure(ResilienceError(.timedOut, source: "x"))) == .failure)
        #expect(idempotent.classify(.failure(ResilienceError(.deadlineExceeded, source: "x"))) == .failure)
        #expect(idempotent.classify(.failure(NIOTooManyBytesError(maxBytes: 10))) == .success)
    }

    @Test func idempotentMethodsFollowRFC9110() {
        for method: HTTPMethod in [.GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE] {
            #expect(HTTPOutcome.isIdempotent(method))
        }
        for method: HTTPMethod in [.POST, .PATCH, .CONNECT] {
            #expect(!HTTPOutcome.isIdempotent(method))
        }
    }

    @Test func hostKeysIdentifySchemeHostAndPort() {
        #expect(ResilientHTTPClient.hostKey("http://Example.com/a?b") == "http://example.com:80")
        #expect(ResilientHTTPClient.hostKey("https://example.com/") == "https://example.com:443")
        #expect(ResilientHTTPClient.hostKey("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080")
        #expect(ResilientHTTPClient.hostKey("not a url") == "")
    }
}
