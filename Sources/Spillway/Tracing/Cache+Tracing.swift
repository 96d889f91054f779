import Tracing

/// What one read of a ``Cache`` found: the `spillway.cache.outcome` attribute of its `spillway.cache.get` span.
@usableFromInline
enum CacheReadOutcome: String, Sendable {
    /// A fresh value.
    case hit
    /// A cached loader error (negative caching).
    case negativeHit = "negative_hit"
    /// A fresh value whose early refresh (XFetch) this read started.
    case earlyRefresh = "early_refresh"
    /// An expired value served within stale-while-revalidate.
    case stale
    /// No usable entry: this read started the load.
    case miss
    /// No usable entry: this read joined a load already in flight.
    case coalesced
    /// The load failed and an old value answered (stale-if-error); set after `miss` or `coalesced`.
    case staleOnError = "stale_on_error"
}

extension Cache {
    /// A read of `key` inside a `spillway.cache.get` span that records what the read found.
    @usableFromInline
    func traced(_ key: Key, deadline: Deadline?, _ tracer: any Tracer) async throws -> Value {
        try await tracer.withSpan("spillway.cache.get") { span in
            span.attributes[SpanAttributeNames.cacheName] = configuration.name
            if let value = try cachedValue(key, span: span) { return value }
            return try await load(key, deadline: deadline, span: span)
        }
    }

    @usableFromInline
    static func note(_ outcome: CacheReadOutcome, on span: any Span) {
        span.attributes[SpanAttributeNames.cacheOutcome] = outcome.rawValue
    }
}
