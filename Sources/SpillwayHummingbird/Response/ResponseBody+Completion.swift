import Hummingbird
import NIOCore

extension ResponseBody {
    /// This body, finishing `completion` once its last byte is written or the write fails.
    func finishing(_ completion: ResponseCompletion) -> ResponseBody {
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
