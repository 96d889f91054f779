import NIOCore
import NIOHTTP1
import Spillway
import Testing

@testable import SpillwayProxy

/// Mutated requests through the client parser and everything that reads a head after it: none crashes (the head's
/// readers rely on the lines the parser checked), and every head the proxy would forward is one the upstream reads
/// with the same framing — no field the proxy removes gets through, no second length, no body boundary moved.
@Suite("Mutated client requests: no crash, and what is forwarded frames as the proxy read it")
struct ClientRequestFuzzTests {
    static let seeds = [
        "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: keep-alive, X-Hop\r\nX-Hop: h\r\n\r\nabc",
        "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET http://Other.example:81/p?q HTTP/1.1\r\nHost: ignored\r\nX-Forwarded-For: 198.51.100.7\r\n"
            + "Forwarded: for=198.51.100.7\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nx-request-timeout-ms: 250\r\ngrpc-timeout: 2S\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*;q=0.8\r\nCookie: s=1; t=2\r\n"
            + "Upgrade: h2c\r\nTE: trailers\r\nKeep-Alive: 5\r\n\r\n",
    ]

    /// Bytes that matter to the syntax, and a few that do not.
    static let interesting: [UInt8] = [
        0x00, 0x09, 0x0A, 0x0D, 0x20, 0x2C, 0x3A, 0x3B, 0x7F, 0x80, 0xFF, 0x41, 0x2D, 0x30,
    ]

    static func mutated(_ text: String, using random: inout RandomSource) -> [UInt8] {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            let byte = interesting.randomElement(using: &random)!
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[at] = byte
            case 1: bytes.insert(byte, at: at)
            case 2: bytes.remove(at: at)
            default: bytes[at] = bytes[at] >= 0x61 && bytes[at] <= 0x7A ? bytes[at] - 0x20 : bytes[at]
            }
        }
        return bytes
    }

    @Test func mutatedRequestsNeverCrashAndForwardedHeadsFrameAsRead() throws {
        var random = RandomSource.seeded(16)
        var heads = 0
        var forwarded = 0
        for round in 0..<20_000 {
            let seed = Self.seeds[round % Self.seeds.count]
            let bytes = round < Self.seeds.count ? Array(seed.utf8) : Self.mutated(seed, using: &random)
            var parser = ClientRequestParser(maxHeaderBytes: 1024, maxHeaderCount: 20)
            var offset = 0
            reading: while offset < bytes.count {
                let piece = Int.random(in: 1...max(1, bytes.count - offset), using: &random)
                var buffer = ByteBuffer(bytes: bytes[offset..<(offset + piece)])
                offset += piece
                while true {
                    let part: ClientRequestPart?
                    do {
                        part = try parser.next(&buffer)
                    } catch {
                        break reading
                    }
                    guard let part else { break }
                    guard case .head(let head) = part else { continue }
                    heads += 1
                    if try check(head) { forwarded += 1 }
                }
            }
        }
        // The mutations leave enough requests whole for the checks to have run.
        #expect(heads > 5_000)
        #expect(forwarded > 2_500)
    }

    /// Reads `head` as the proxy does; when validation accepts it, writes the upstream head and reads it back.
    /// Returns whether it was forwarded.
    private func check(_ head: ClientRequestHead) throws -> Bool {
        _ = head.fields
        _ = head.first(named: "Host")
        _ = head.values(named: "x-a")
        _ = head.isKeepAlive
        guard case .success(let accepted) = RequestValidation.validate(head, limits: .init(maxBodyBytes: 1 << 20))
        else {
            return false
        }
        var buffer = ByteBuffer()
        HeaderRewriting.writeUpstreamHead(
            head,
            target: accepted.target,
            forwarding: .init(
                peer: "192.0.2.1",
                peerIsTrusted: true,
                host: accepted.host,
                framing: accepted.framing,
                remainingBudget: .milliseconds(100)
            ),
            extraFields: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
            into: &buffer
        )
        let upstream = try #require(
            try? ClientRequestHead.parse(buffer, maxFieldBytes: 1 << 20, maxFieldCount: 1_000),
            "the forwarded head is malformed: \(String(buffer: buffer))"
        )
        let names = upstream.fields.map { $0.name.lowercased() }
        for removed in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"] {
            #expect(!names.contains(removed), "\(removed) forwarded: \(String(buffer: buffer))")
        }
        #expect(names.filter { $0 == "x-forwarded-for" }.count == 1)
        #expect(names.filter { $0 == "forwarded" }.count == 1)
        #expect(names.filter { $0 == "traceparent" }.count == 1)
        #expect(upstream.facts.contentLengths <= 1 && upstream.facts.transferEncodings <= 1)
        let expected: HTTP1BodyReader.Framing? =
            switch accepted.framing {
            case .none: nil
            case .length(let length): .length(length)
            case .chunked: .chunked
            }
        #expect(try upstream.facts.framing() == expected, "framing moved: \(String(buffer: buffer))")
        return true
    }
}
