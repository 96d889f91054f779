import NIOCore

/// Sits before the HTTP decoder and tells the connection handler when the first byte of a new request arrives, so
/// that the header timeout (slowloris) counts from there while an idle keep-alive connection is bound only by the
/// idle timeout.
final class RequestStartDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Set by the connection handler when it waits for a new request; cleared here by the first byte.
    var awaitingRequest = true
    /// Called (on the loop) with the first bytes of a request.
    var onRequestStart: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingRequest {
            awaitingRequest = false
            onRequestStart?()
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        onRequestStart = nil
    }
}
