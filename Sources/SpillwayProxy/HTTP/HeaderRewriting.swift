import NIOCore
import NIOHTTP1
import Spillway

/// The header fields the proxy changes on the way through.
///
/// Upstream: hop-by-hop fields (`Connection` and every field it names, `Keep-Alive`, `Proxy-Connection`, `TE`,
/// `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`, `Proxy-Authenticate`; RFC 9110 §7.6.1) and
/// `Expect` are removed; the client's address is appended to `X-Forwarded-For` and `Forwarded` — or, when the TCP
/// peer is not a trusted proxy, replaces what the client sent, so that nobody behind the proxy believes a client's
/// own claim; the deadline header carries what is left of the request's budget; framing is set for the body as it
/// is forwarded.
///
/// To the client: the upstream's hop-by-hop fields are removed (the response is re-framed by the encoder), and
/// `Connection: close` is added when the proxy closes after the response.
enum HeaderRewriting {
    /// Lower-case names of the hop-by-hop fields.
    static let hopByHopNames: [StaticString] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// What the proxy knows about the request that shapes the upstream's header fields.
    struct Forwarding {
        /// The TCP peer's address (`203.0.113.7`, `2001:db8::1`), if any.
        var peer: String?
        /// Whether the peer is a trusted proxy, whose forwarding fields are kept and appended to.
        var peerIsTrusted: Bool
        /// The request's host as the client sent it.
        var host: String?
        /// How the body is delimited.
        var framing: RequestValidation.Framing
        /// The time left before the request's deadline, if it has one.
        var remainingBudget: Duration?
        /// ``HeaderRewriting/forwardedElement(peer:host:)`` for `peer` and `host`, when the caller keeps it from an
        /// earlier request of the connection (made here otherwise).
        var forwardedElement: String? = nil
    }

    /// Writes the head the upstream receives: `method target HTTP/1.1`; the client's field lines but the hop-by-hop
    /// ones, `Expect`, and those named in `extraFields`, copied in runs as they came; the forwarding fields, the
    /// deadline and the framing; then `extraFields` (the trace context, which replaces the client's); and the empty
    /// line. Straight into `buffer`: no list of fields is built on the way, no string made of a field.
    static func writeUpstreamHead(
        _ head: ClientRequestHead,
        target: String,
        forwarding: Forwarding,
        extraFields: HTTPHeaders? = nil,
        into buffer: inout ByteBuffer
    ) {
        let method = head.method
        buffer.writeString(method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(target)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        let named = head.facts.connection.names
        let extraNames = extraFields?.map { $0.name.lowercased() } ?? []
        // A body-less POST, PUT or PATCH is sent with `Content-Length: 0` in place of any the client sent.
        let zeroLength =
            forwarding.framing == .none && (method == .POST || method == .PUT || method == .PATCH)
        let replacesDeadline = forwarding.remainingBudget != nil
        let hadGRPCTimeout = head.facts.grpcTimeout != nil
        head.fieldLines.withUnsafeReadableBytes { bytes in
            // The values of a trusted peer's forwarding fields, to which the proxy appends its own element.
            var forwardedFor: [Range<Int>] = []
            var forwarded: [Range<Int>] = []
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let lineStart = index
                while bytes[index] != UInt8(ascii: ":") { index += 1 }
                let colon = index
                let name = bytes[lineStart..<colon]
                index = HTTP1Syntax.lineEnd(bytes, from: index)
                var dropped = isRemoved(name, named: named) || HTTP1Syntax.isName(name, "expect")
                if !dropped {
                    switch name.count {
                    case 15 where HTTP1Syntax.isName(name, "x-forwarded-for"):
                        if forwarding.peerIsTrusted {
                            forwardedFor.append(ClientRequestHead.value(bytes, afterColon: colon).range)
                        }
                        dropped = true
                    case 9 where HTTP1Syntax.isName(name, "forwarded"):
                        if forwarding.peerIsTrusted {
                            forwarded.append(ClientRequestHead.value(bytes, afterColon: colon).range)
                        }
                        dropped = true
                    case 14 where zeroLength && HTTP1Syntax.isName(name, "content-length"):
                        dropped = true
                    case HTTP1Syntax.grpcTimeoutName.utf8CodeUnitCount
                    where replacesDeadline && HTTP1Syntax.isName(name, HTTP1Syntax.grpcTimeoutName):
                        dropped = true
                    case HTTP1Syntax.timeoutName.utf8CodeUnitCount
                    where replacesDeadline && HTTP1Syntax.isName(name, HTTP1Syntax.timeoutName):
                        dropped = true
                    default:
                        dropped = !extraNames.isEmpty && extraNames.contains { name.equalsIgnoringASCIICase($0.utf8) }
                    }
                }
                guard dropped else { continue }
                if lineStart > runStart {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<lineStart]))
                }
                runStart = index
            }
            if bytes.count > runStart { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
            if let peer = forwarding.peer {
                writeList(name: "x-forwarded-for", forwardedFor.map { bytes[$0] }, then: peer, into: &buffer)
                let element = forwarding.forwardedElement ?? forwardedElement(peer: peer, host: forwarding.host)
                writeList(name: "forwarded", forwarded.map { bytes[$0] }, then: element, into: &buffer)
            }
        }
        if let remaining = forwarding.remainingBudget {
            let milliseconds = TimeoutHeader.format(remaining)
            HTTP1Syntax.writeField(TimeoutHeader.defaultName, milliseconds, into: &buffer)
            if hadGRPCTimeout { HTTP1Syntax.writeField(TimeoutHeader.grpcName, "\(milliseconds)m", into: &buffer) }
        }
        if forwarding.framing == .chunked {
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        } else if zeroLength {
            buffer.writeStaticString("content-length: 0\r\n")
        }
        if let extraFields { HTTP1Syntax.writeFields(extraFields, into: &buffer) }
        buffer.writeStaticString("\r\n")
    }

    /// Writes `name: earlier…, last`: a list field the proxy appends its own element to.
    private static func writeList(
        name: StaticString,
        _ earlier: [Slice<UnsafeRawBufferPointer>],
        then last: String,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        for value in earlier {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: value))
            buffer.writeStaticString(", ")
        }
        buffer.writeString(last)
        buffer.writeStaticString("\r\n")
    }

    /// Copies the field lines of an upstream's head that go on to the client: all but its hop-by-hop fields (the
    /// response is re-framed by ``ClientResponseEncoder``), and but `Content-Length` when `droppingLength` (a status
    /// without a body). Kept lines are copied in runs, as they came.
    static func writeClientResponseFields(
        _ head: UpstreamResponseHead,
        droppingLength: Bool,
        into buffer: inout ByteBuffer
    ) {
        head.fieldLines.withUnsafeReadableBytes { bytes in
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let lineStart = index
                while bytes[index] != UInt8(ascii: ":") { index += 1 }
                let name = bytes[lineStart..<index]
                index = HTTP1Syntax.lineEnd(bytes, from: index)
                let dropped =
                    isRemoved(name, named: head.connectionNames)
                    || (droppingLength && HTTP1Syntax.isName(name, "content-length"))
                guard dropped else { continue }
                if lineStart > runStart {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<lineStart]))
                }
                runStart = index
            }
            if bytes.count > runStart { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
        }
    }

    /// Whether a field named `name` is hop-by-hop: one of ``hopByHopNames`` or one of the lower-case names `named` by
    /// the message's `Connection` field (usually none).
    private static func isRemoved(_ name: Slice<UnsafeRawBufferPointer>, named: [String]) -> Bool {
        // The lengths of ``hopByHopNames``: most fields are none of them, and are not compared.
        switch name.count {
        case 2, 7, 10, 16, 17, 18, 19:
            if hopByHopNames.contains(where: { HTTP1Syntax.isName(name, $0) }) { return true }
        default:
            break
        }
        return named.contains { name.equalsIgnoringASCIICase($0.utf8) }
    }

    /// The proxy's own `Forwarded` element (RFC 7239) for a request from `peer` to `host`: `for=…;host="…";proto=http`.
    static func forwardedElement(peer: String, host: String?) -> String {
        var element = "for=\(forwardedNode(peer))"
        if let host, RequestValidation.isValidHost(host.utf8) {
            element += ";host=\"\(host)\""
        }
        return element + ";proto=http"
    }

    /// A `Forwarded` node (RFC 7239 §6): IPv4 as is, IPv6 quoted in brackets.
    static func forwardedNode(_ address: String) -> String {
        // A byte scan: `String.contains(_:)` with a string argument goes through Foundation's locale-aware search.
        address.utf8.contains(UInt8(ascii: ":")) ? "\"[\(address)]\"" : address
    }
}
