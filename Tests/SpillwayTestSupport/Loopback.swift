import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain TCP on 127.0.0.1 for the server launchers: a free port, and one request/response exchange to ask a
/// server who it is. Blocking calls with short time-outs, run on a Dispatch thread of their own so that no Swift
/// concurrency thread blocks.
package enum Loopback {
    /// A port nothing listens on right now (the kernel picks it); another process may still take it before the
    /// caller binds it, which ``ServerProcess`` detects.
    package static func freePort() throws -> Int {
        let descriptor = try openSocket()
        defer { close(descriptor) }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(descriptor, raw, length) == 0 else { return -1 }
                return getsockname(descriptor, raw, &length)
            }
        }
        guard bound == 0 else { throw LoopbackError("bind() or getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Listens on 127.0.0.1:`port` so that no other program can bind it, until the returned descriptor is closed;
    /// `nil` when something already listens there (the port is taken either way).
    package static func occupy(port: Int) throws -> Int32? {
        let descriptor = try openSocket()
        var address = loopbackAddress(port: port)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let error = errno
            close(descriptor)
            if error == EADDRINUSE { return nil }
            throw LoopbackError("bind() to port \(port) failed: errno \(error)")
        }
        guard listen(descriptor, 1) == 0 else {
            let error = errno
            close(descriptor)
            throw LoopbackError("listen() on port \(port) failed: errno \(error)")
        }
        return descriptor
    }

    /// Connects to `port`, sends `request`, and reads until `isComplete` says the reply is whole, the peer closes,
    /// or `timeout` passes. `nil` when nothing accepts connections on the port or no complete reply came.
    package static func exchange(
        port: Int,
        request: [UInt8],
        timeout: Duration = .seconds(1),
        isComplete: @escaping @Sendable ([UInt8]) -> Bool
    ) async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            // A queue of its own targets an overcommitting root queue, so the blocking exchange gets a thread even
            // while CPU-bound tests keep every core busy (the shared global queue would wait for one to finish).
            DispatchQueue(label: "spillway.test.loopback").async {
                continuation.resume(
                    returning: blockingExchange(port: port, request: request, timeout: timeout, isComplete: isComplete)
                )
            }
        }
    }

    /// An HTTP/1.1 `GET path` answered by `port`: the body of a `200` response, `nil` otherwise. `version` `"1.0"`
    /// asks for an answer that is not chunked (servers such as Go's chunk long HTTP/1.1 answers).
    package static func httpGet(
        port: Int,
        path: String,
        timeout: Duration = .seconds(1),
        version: String = "1.1"
    ) async -> String? {
        let request = Array("GET \(path) HTTP/\(version)\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard let reply = await exchange(port: port, request: request, timeout: timeout, isComplete: { _ in false })
        else { return nil }
        let text = String(decoding: reply, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200") || text.hasPrefix("HTTP/1.0 200"),
            let separator = text.range(of: "\r\n\r\n")
        else { return nil }
        return String(text[separator.upperBound...])
    }

    private static func blockingExchange(
        port: Int,
        request: [UInt8],
        timeout: Duration,
        isComplete: ([UInt8]) -> Bool
    ) -> [UInt8]? {
        guard let descriptor = try? openSocket() else { return nil }
        defer { close(descriptor) }
        let parts = timeout.components
        var time = timeval(tv_sec: Int(parts.seconds), tv_usec: Int(parts.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return nil }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let end = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < end {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return count == 0 && !reply.isEmpty ? reply : nil }
            reply += buffer[0..<count]
            if isComplete(reply) { return reply }
        }
        return nil
    }

    private static func openSocket() throws -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw LoopbackError("socket() failed: errno \(errno)") }
        return descriptor
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// A socket call failed.
package struct LoopbackError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
