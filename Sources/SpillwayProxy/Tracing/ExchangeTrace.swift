import NIOCore
import NIOHTTP1
import Spillway
import Tracing

/// The spans of one request through the proxy: a server span from the request's head to the end of its response,
/// and under it one client span per upstream attempt, whose W3C context (`traceparent`, `tracestate`) is what the
/// upstream receives. The server span continues the caller's trace when the request carries one.
///
/// Span names and attributes follow the OpenTelemetry HTTP conventions and the library's own: the server span is
/// `HTTP GET <route>` (`http.request.method`, `url.path`, `spillway.proxy.route`, `http.response.status_code`,
/// the admission decision as the `spillway.admission` span records it, `spillway.proxy.outcome`,
/// `spillway.attempts`); an attempt is `HTTP GET` (`server.address`, `server.port`, `spillway.attempt.number`,
/// `http.response.status_code` or `error.type`).
///
/// Exists only while a tracer is active (``ProxyServer/start(configuration:port:adminPort:eventLoopGroup:registry:logger:)``
/// takes the tracer active when it is called); a span the tracer does not record gets no attributes. Confined to
/// the exchange's event loop, as the exchange is.
final class ExchangeTrace {
    private let tracer: any Tracer
    private let server: any Span
    @exclusivity(unchecked) private var attempt: (any Span)?
    private var attempts = 0

    /// Starts the server span of `head` on `route`, continuing the trace its headers carry.
    init(tracer: any Tracer, head: ClientRequestHead, path: String, route: String) {
        var parent = ServiceContext.topLevel
        tracer.extract(head, into: &parent, using: ClientRequestHeadExtractor())
        self.tracer = tracer
        self.server = tracer.startSpan("HTTP \(head.method.rawValue) \(route)", context: parent, ofKind: .server)
        guard server.isRecording else { return }
        server.updateAttributes { attributes in
            attributes["http.request.method"] = head.method.rawValue
            attributes["url.path"] = path
            attributes["spillway.proxy.route"] = route
            attributes["user_agent.original"] = head.first(named: "user-agent")
        }
    }

    /// Records the admission decision: admitted after `queueWait`, at `priority`, with the limiter's figures
    /// when the request arrived.
    func admitted(priority: Priority, queueWait: Duration?, arrival: ConcurrencyLimiter.Snapshot?) {
        guard server.isRecording else { return }
        server.updateAttributes { attributes in
            attributes[SpanAttributeNames.admissionOutcome] = "admitted"
            attributes[SpanAttributeNames.admissionPriority] = priority.label
            attributes[SpanAttributeNames.admissionQueueWait] = (queueWait ?? .zero).spanMilliseconds
            if let arrival {
                attributes[SpanAttributeNames.admissionLimit] = arrival.limit
                attributes[SpanAttributeNames.admissionInflight] = arrival.inflight
                attributes[SpanAttributeNames.admissionQueueDepth] = arrival.queueDepth
            }
        }
    }

    /// Records a refusal by admission control.
    func rejected(_ rejection: AdmissionRejection) {
        guard server.isRecording else { return }
        server.updateAttributes { attributes in
            attributes[SpanAttributeNames.admissionOutcome] = "rejected"
            attributes[SpanAttributeNames.admissionPriority] = rejection.priority.label
            attributes[SpanAttributeNames.admissionRejection] = rejection.reason.label
            attributes[SpanAttributeNames.admissionQueueWait] = rejection.queueDelay.spanMilliseconds
        }
    }

    /// Records a refusal by a rate-limit policy.
    func rateLimited() {
        guard server.isRecording else { return }
        server.attributes[SpanAttributeNames.rateLimitAllowed] = false
    }

    /// Starts the span of the next upstream attempt, to `instance`.
    func attemptStarted(to instance: ProxyConfiguration.Address, method: HTTPMethod) {
        endAttempt(failure: nil)
        attempts += 1
        let span = tracer.startSpan("HTTP \(method.rawValue)", context: server.context, ofKind: .client)
        attempt = span
        guard span.isRecording else { return }
        span.updateAttributes { attributes in
            attributes["http.request.method"] = method.rawValue
            attributes["server.address"] = instance.host
            attributes["server.port"] = instance.port
            attributes[SpanAttributeNames.attemptNumber] = attempts
        }
    }

    /// Writes the current attempt's trace context into the upstream request's `headers` (replacing the caller's).
    func inject(into headers: inout HTTPHeaders) {
        tracer.inject((attempt ?? server).context, into: &headers, using: NIOHTTPHeadersInjector())
    }

    /// Records the status of the current attempt's answer.
    func answered(status: Int) {
        guard let span = attempt, span.isRecording else { return }
        span.attributes["http.response.status_code"] = status
        if status >= 500 {
            span.attributes[SpanAttributeNames.errorType] = String(status)
            span.setStatus(SpanStatus(code: .error))
        }
    }

    /// Ends the current attempt, if one is open; `failure` names why it ended without an answer.
    func endAttempt(failure: String?) {
        guard let span = attempt else { return }
        attempt = nil
        if let failure, span.isRecording {
            span.attributes[SpanAttributeNames.errorType] = failure
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }

    /// Ends the exchange: the client got `status` (`499`: it went away first) for `outcome`.
    func finished(status: Int, outcome: String) {
        endAttempt(failure: outcome == "forwarded" ? nil : outcome)
        if server.isRecording {
            server.updateAttributes { attributes in
                attributes["http.response.status_code"] = status
                attributes["spillway.proxy.outcome"] = outcome
                attributes[SpanAttributeNames.attempts] = attempts
                if status >= 500 { attributes[SpanAttributeNames.errorType] = String(status) }
            }
            if status >= 500 { server.setStatus(SpanStatus(code: .error)) }
        }
        server.end()
    }
}

/// Reads the trace context a client's request carries, from its head's bytes.
struct ClientRequestHeadExtractor: Extractor {
    func extract(key: String, from carrier: ClientRequestHead) -> String? { carrier.first(named: key) }
}

/// Writes trace context into NIO's request headers, replacing a field of the same name.
struct NIOHTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
