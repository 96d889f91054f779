import Instrumentation
import NIOHTTP1

/// Writes trace-context fields (`traceparent`, `tracestate`, or whatever the bootstrapped instrument propagates)
/// into an outgoing request's headers, replacing any value already there so a retried request carries its own.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
