import Hummingbird
import Synchronization
import Tracing

extension ResponseBody {
    /// This body, ending `span` once its last byte is written or the write fails; if the response is dropped unwritten
    /// (a later middleware replaced it, the connection closed first), when the body is freed.
    func ending(_ span: any Span) -> ResponseBody {
        let ending = SpanEnding(span)
        let body = self
        return ResponseBody(contentLength: contentLength) { writer in
            defer { ending.end() }
            try await body.write(writer)
        }
    }
}

/// Ends a span once: when the body's write finishes, or when the body is freed unwritten.
private final class SpanEnding: Sendable {
    private let span: Mutex<(any Span)?>

    init(_ span: any Span) {
        self.span = Mutex(span)
    }

    func end() {
        span.withLock { $0.take() }?.end()
    }

    deinit {
        end()
    }
}
