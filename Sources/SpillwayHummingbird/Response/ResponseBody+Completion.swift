import Hummingbird
import NIOCore

extension ResponseBody {
    /// This body, finishing `completion` once its last byte is written or the write fails.
    ///
    /// A body of one buffer up to ``CompletionBuffer/maximumCopiedBytes``, or an empty body, becomes a single
    /// ``CompletionBuffer``, which Hummingbird still writes in one batched write; any other body is wrapped in a
    /// closure that finishes `completion` after the wrapped body's writer returns (or throws).
    func finishing(_ completion: ResponseCompletion) -> ResponseBody {
        switch storage {
        case .buffer(let buffer) where buffer.readableBytes <= CompletionBuffer.maximumCopiedBytes:
            completion.keepAlive(buffer)
            return ResponseBody(byteBuffer: CompletionBuffer.copy(of: buffer, finishing: completion))
        case .empty:
            return ResponseBody(byteBuffer: CompletionBuffer.copy(of: ByteBuffer(), finishing: completion))
        case .buffer, .written:
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

    /// How the body is held, as far as a middleware can tell.
    enum Storage {
        /// One buffer (`ResponseBody(byteBuffer:)`, and what routes returning a `String` produce).
        case buffer(ByteBuffer)
        /// No bytes (`ResponseBody()`).
        case empty
        /// Written by a closure: streamed, or of a kind this Hummingbird version does not show.
        case written
    }

    /// How the body is held. Hummingbird keeps that internal, so it is read by reflection: the stored `_backing`
    /// enum's `byteBuffer` and `empty` cases. Should a later Hummingbird rename them, every body reads as
    /// ``Storage/written`` and is wrapped in a closure: slower, never wrong.
    var storage: Storage {
        guard let backing = Mirror(reflecting: self).children.first(where: { $0.label == "_backing" })?.value else {
            return .written
        }
        let cases = Mirror(reflecting: backing)
        guard cases.displayStyle == .enum else { return .written }
        guard let payload = cases.children.first else {
            return String(describing: backing) == "empty" ? .empty : .written
        }
        if payload.label == "byteBuffer", let buffer = payload.value as? ByteBuffer { return .buffer(buffer) }
        return .written
    }
}
