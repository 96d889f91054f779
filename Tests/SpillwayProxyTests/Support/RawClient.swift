import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a raw connection received.
struct RawResponse: Sendable {
    /// One parsed response.
    struct Message: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        /// The body, de-chunked.
        var body: String
    }

    /// Everything the server sent, as text (invalid UTF-8 replaced).
    var text: String
    /// Whether the server closed the connection before the wait ended.
    var closedByServer: Bool

    /// Every response, in order.
    var messages: [Message] { Self.parse(Array(text.utf8)) }
    /// The status codes of every response, in order.
    var statuses: [Int] { messages.map(\.status) }
    /// The first response's status code.
    var status: Int? { messages.first?.status }
    /// The value of the first header named `name` (case-insensitive) in the first response.
    func header(_ name: String) -> String? {
        messages.first?.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    /// The first response's body.
    var body: String { messages.first?.body ?? "" }

    /// Parses consecutive HTTP/1.1 responses: Content-Length, chunked or close-delimited bodies. A body that
    /// starts with a status line is taken to be empty (the answer to a HEAD request).
    static func parse(_ bytes: [UInt8]) -> [Message] {
        var messages: [Message] = []
        var position = 0
        func find(_ pattern: [UInt8], from start: Int) -> Int? {
            guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
            for index in start...(bytes.count - pattern.count)
            where Array(bytes[index..<index + pattern.count]) == pattern {
                return index
            }
            return nil
        }
        let crlf: [UInt8] = [13, 10]
        while position < bytes.count, let headEnd = find(crlf + crlf, from: position) {
            let head = String(decoding: bytes[position..<headEnd], as: UTF8.self)
            let lines = head.components(separatedBy: "\r\n")
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."), statusLine.count >= 12,
                let status = Int(statusLine.dropFirst(9).prefix(3))
            else { break }
            var headers: [(name: String, value: String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append(
                    (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
                )
            }
            func value(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
            var cursor = headEnd + 4
            var body: [UInt8] = []
            let startsResponse = bytes.count - cursor >= 7 && Array(bytes[cursor..<cursor + 7]) == Array("HTTP/1.".utf8)
            if (100..<200).contains(status) || status == 204 || status == 304 || startsResponse {
                // No body.
            } else if value("transfer-encoding")?.lowercased() == "chunked" {
                while let lineEnd = find(crlf, from: cursor),
                    let size = Int(String(decoding: bytes[cursor..<lineEnd], as: UTF8.self), radix: 16)
                {
                    cursor = lineEnd + 2
                    if size == 0 {
                        cursor = (find(crlf, from: cursor) ?? bytes.count - 2) + 2
                        break
                    }
                    let end = min(bytes.count, cursor + size)
                    body += bytes[cursor..<end]
                    cursor = min(bytes.count, end + 2)
                }
            } else if let length = value("content-length").flatMap({ Int($0) }) {
                let end = min(bytes.count, cursor + length)
                body = Array(bytes[cursor..<end])
                cursor = end
            } else {
                body = Array(bytes[cursor...])
                cursor = bytes.count
            }
            messages.append(Message(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)))
            position = cursor
        }
        return messages
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var slice = Substring(self)
        while slice.first == set { slice.removeFirst() }
        while slice.last == set { slice.removeLast() }
        return String(slice)
    }
}

/// A TCP client that sends exactly the bytes a test writes: for malformed and hostile requests no HTTP library
/// would produce.
enum RawClient {
    /// Connects to `127.0.0.1:port`, sends `parts` (waiting `pause` between them), then collects what the server
    /// sends until it closes or `wait` passes. With `closeWhen`, returns as soon as the text satisfies it.
    static func send(
        _ parts: [String],
        port: Int,
        pause: Duration = .zero,
        wait: Duration = .seconds(5),
        closeWhen done: (@Sendable (String) -> Bool)? = nil
    ) async throws -> RawResponse {
        let collector = Collected()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(collected: collector))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        for (index, part) in parts.enumerated() {
            if index > 0 && pause > .zero { try await Task.sleep(for: pause) }
            guard channel.isActive else { break }
            try? await channel.writeAndFlush(ByteBuffer(string: part))
        }
        let clock = ContinuousClock()
        let end = clock.now + wait
        while clock.now < end {
            if collector.closed { break }
            if let done, done(collector.text) { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let closed = collector.closed
        try? await channel.close()
        return RawResponse(text: collector.text, closedByServer: closed)
    }

    /// Sends `request` and closes the connection abruptly (RST when unread data remains) without reading: after
    /// `delay`, and then once `ready` holds (checked every 5 ms for up to 20 s).
    static func sendAndAbort(
        _ request: String,
        port: Int,
        after delay: Duration = .zero,
        when ready: (@Sendable () -> Bool)? = nil
    ) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port)
            .get()
        // SO_LINGER 0: close sends a reset instead of a FIN.
        if let provider = channel as? any SocketOptionProvider {
            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.writeAndFlush(ByteBuffer(string: request))
        if delay > .zero { try await Task.sleep(for: delay) }
        if let ready {
            let clock = ContinuousClock()
            let end = clock.now + .seconds(20)
            while !ready(), clock.now < end { try await Task.sleep(for: .milliseconds(5)) }
        }
        try? await channel.close()
    }
}

private final class Collected: Sendable {
    private let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))

    func append(_ buffer: ByteBuffer) {
        state.withLock { $0.bytes.append(contentsOf: buffer.readableBytesView) }
    }

    func close() { state.withLock { $0.closed = true } }

    var closed: Bool { state.withLock { $0.closed } }
    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
}

private final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let collected: Collected

    init(collected: Collected) {
        self.collected = collected
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        collected.append(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        collected.close()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
