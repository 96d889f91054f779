import NIOCore
import NIOHTTP1

/// The part of reading a connection's HTTP/1.1 messages that both of the proxy's parsers share
/// (``ClientRequestParser``, ``UpstreamResponseParser``): where the stream is (awaiting a head, in a body, or at an
/// end not yet handed out), the bytes of an element that did not arrive whole, and how far an incomplete head was
/// searched. Each parser reads its own heads from the bytes handed out here and then sets how the body is framed.
struct HTTP1MessageStream {
    enum State {
        /// Awaiting a head.
        case head
        /// In the message's body.
        case body(HTTP1BodyReader)
        /// The message is complete: its end (with these trailers) is the next part.
        case end(HTTPHeaders?)
    }

    /// What ``next(_:headLimit:skippingEmptyLines:)`` read.
    enum Step {
        /// A whole head, up to and including its empty line: the parser reads it, then sets ``state``.
        case head(ByteBuffer)
        /// Body bytes, a slice of the input.
        case body(ByteBuffer)
        /// The message ended, with its trailers if it had any; ``state`` is back to `.head`.
        case end(HTTPHeaders?)
    }

    var state = State.head
    /// Bytes of a line-oriented element (a head, a chunk-size line, trailers) that did not arrive whole.
    private var pending: ByteBuffer?
    /// How many bytes of an incomplete head in `pending` were searched for its end.
    private var headScanned = 0

    /// Whether a message is under way (its first bytes have arrived and its end has not been handed out).
    var isMidMessage: Bool {
        if case .head = state { return pending.map { $0.readableBytes > 0 } ?? false }
        return true
    }

    /// The next step from `input` (consumed as far as it goes, what did not arrive whole kept for the next call),
    /// or nil when `input` holds no further step yet. A head longer than `headLimit` throws
    /// ``HTTP1Syntax/Failure/sectionTooLarge``; with `skippingEmptyLines`, empty lines before a head are dropped.
    mutating func next(_ input: inout ByteBuffer, headLimit: Int, skippingEmptyLines: Bool = false) throws -> Step? {
        if var earlier = pending {
            pending = nil
            earlier.writeBuffer(&input)
            input = earlier
        } else if skippingEmptyLines, case .head = state {
            while let byte = input.getInteger(at: input.readerIndex, as: UInt8.self), byte == 0x0D || byte == 0x0A {
                input.moveReaderIndex(forwardBy: 1)
            }
        }
        switch state {
        case .end(let trailers):
            state = .head
            return .end(trailers)
        case .head:
            guard input.readableBytes > 0 else { return nil }
            guard let length = try HTTP1Syntax.sectionLength(input, limit: headLimit, scanned: headScanned) else {
                headScanned = input.readableBytes
                keepPending(&input)
                return nil
            }
            headScanned = 0
            return .head(input.readSlice(length: length)!)
        case .body(var reader):
            switch try reader.next(&input) {
            case .body(let bytes):
                state = .body(reader)
                return .body(bytes)
            case .end(let trailers):
                state = .head
                return .end(trailers)
            case .needMore:
                state = .body(reader)
                if input.readableBytes > 0 { keepPending(&input) }
                return nil
            }
        }
    }

    private mutating func keepPending(_ input: inout ByteBuffer) {
        pending = input.readSlice(length: input.readableBytes)
    }
}
