import NIOCore
import NIOHTTP1

/// Reads the body of one HTTP/1.1 message as its bytes arrive (RFC 9112 §6, §7.1), for both of the proxy's parsers:
/// slices of the input for the body (no copy), then the end with the trailers of a chunked body.
struct HTTP1BodyReader {
    /// How the body is delimited.
    enum Framing: Equatable {
        /// `Content-Length` bytes (more than zero).
        case length(Int)
        /// Chunks, then a trailer section.
        case chunked
        /// Everything until the peer closes (``HTTP1BodyReader/next(_:)`` never ends it).
        case untilClose
    }

    /// What the next call read.
    enum Step {
        /// Body bytes.
        case body(ByteBuffer)
        /// The body is complete.
        case end(HTTPHeaders?)
        /// More bytes are needed; what is left of the input (a partial chunk-size line, chunk end or trailer
        /// section) must be given again, ahead of the next bytes.
        case needMore
    }

    private enum State {
        case fixed(Int)
        case untilClose
        case chunkSize
        case chunkData(Int)
        case chunkEnd
        case trailers
    }

    private var state: State
    /// How many bytes of an incomplete trailer section were searched for its end (given again with the next).
    private var trailersScanned = 0
    /// The most bytes and fields of a trailer section.
    private let maxTrailerBytes: Int
    private let maxTrailerCount: Int

    init(framing: Framing, maxTrailerBytes: Int, maxTrailerCount: Int = .max) {
        switch framing {
        case .length(let length): state = .fixed(length)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        self.maxTrailerBytes = maxTrailerBytes
        self.maxTrailerCount = maxTrailerCount
    }

    /// Whether the body ends only with the connection.
    var endsWithClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// Reads from `input` as far as the next step.
    mutating func next(_ input: inout ByteBuffer) throws -> Step {
        while true {
            switch state {
            case .fixed(let remaining):
                // At 0, the last bytes were returned: the end, even with nothing more to read.
                guard remaining > 0 else { return .end(nil) }
                guard input.readableBytes > 0 else { return .needMore }
                let take = min(remaining, input.readableBytes)
                state = .fixed(remaining - take)
                return .body(input.readSlice(length: take)!)
            case .untilClose:
                guard input.readableBytes > 0 else { return .needMore }
                return .body(input.readSlice(length: input.readableBytes)!)
            case .chunkSize:
                guard input.readableBytes > 0, let size = try HTTP1Syntax.chunkSize(&input) else { return .needMore }
                state = size == 0 ? .trailers : .chunkData(size)
            case .chunkData(let remaining):
                guard input.readableBytes > 0 else { return .needMore }
                let take = min(remaining, input.readableBytes)
                state = take < remaining ? .chunkData(remaining - take) : .chunkEnd
                return .body(input.readSlice(length: take)!)
            case .chunkEnd:
                guard input.readableBytes >= 2 else { return .needMore }
                guard input.readInteger(as: UInt16.self) == 0x0D0A else { throw HTTP1Syntax.Failure.malformedChunk }
                state = .chunkSize
            case .trailers:
                guard input.readableBytes >= 2 else { return .needMore }
                if input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
                    input.moveReaderIndex(forwardBy: 2)
                    return .end(nil)
                }
                let found = try HTTP1Syntax.sectionLength(input, limit: maxTrailerBytes, scanned: trailersScanned)
                guard let length = found else {
                    trailersScanned = input.readableBytes
                    return .needMore
                }
                let section = input.readSlice(length: length)!
                let maxCount = maxTrailerCount
                let trailers = try section.withUnsafeReadableBytes { bytes throws in
                    try HTTP1Syntax.parseFields(bytes, from: 0, maxCount: maxCount)
                }
                return .end(trailers.isEmpty ? nil : trailers)
            }
        }
    }
}
