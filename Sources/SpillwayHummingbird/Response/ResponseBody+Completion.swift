import Hummingbird
import NIOCore

extension ResponseBody {
    /// This body, of kind `kind` (``ResponseBodyShape/kind(of:)``), finishing `completion` once its last byte is
    /// written or the write fails.
    ///
    /// A body of one buffer up to ``CompletionBuffer/maximumCopiedBytes``, or an empty body, becomes a single
    /// ``CompletionBuffer``, which Hummingbird still writes in one batched write; any other body is wrapped in a
    /// closure that finishes `completion` after the wrapped body's writer returns (or throws).
    func finishing(_ completion: ResponseCompletion, kind: ResponseBodyShape.Kind) -> ResponseBody {
        switch kind {
        case .buffer(let buffer) where buffer.readableBytes <= CompletionBuffer.maximumCopiedBytes:
            return ResponseBody(byteBuffer: CompletionBuffer.copy(of: buffer, finishing: completion))
        case .empty:
            return ResponseBody(byteBuffer: CompletionBuffer.copy(of: ByteBuffer(), finishing: completion))
        case .buffer, .other:
            let body = self
            return ResponseBody(contentLength: contentLength) { writer in
                do {
                    try await body.write(writer)
                } catch {
                    completion.finish(writeFailed: true)
                    throw error
                }
                completion.finish(writeFailed: false)
            }
        }
    }
}
