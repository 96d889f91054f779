import NIOHTTP1
import Testing

@testable import SpillwayProxy

@Suite("Request validation refuses smuggling and routing tricks")
struct RequestValidationTests {
    private func head(
        _ fields: [(String, String)],
        uri: String = "/",
        method: HTTPMethod = .POST,
        version: HTTPVersion = .http1_1
    ) throws -> ClientRequestHead {
        try ClientRequestHead.make(method: method, uri: uri, version: version, headers: HTTPHeaders(fields))
    }

    private func refused(_ head: ClientRequestHead) -> RequestValidation.Refusal? {
        if case .failure(let refusal) = RequestValidation.validate(head, limits: .init(maxBodyBytes: 1000)) {
            return refusal
        }
        return nil
    }

    @Test(
        arguments: [
            (
                [("Host", "a"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")], 400,
                "content_length_with_transfer_encoding"
            ),
            ([("Host", "a"), ("Content-Length", "5"), ("Content-Length", "5")], 400, "duplicate_content_length"),
            ([("Host", "a"), ("Content-Length", "+5")], 400, "invalid_content_length"),
            ([("Host", "a"), ("Content-Length", "5, 5")], 400, "invalid_content_length"),
            ([("Host", "a"), ("Content-Length", "0x10")], 400, "invalid_content_length"),
            ([("Host", "a"), ("Transfer-Encoding", "gzip, chunked")], 501, "unsupported_transfer_encoding"),
            (
                [("Host", "a"), ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], 400,
                "duplicate_transfer_encoding"
            ),
            ([("Content-Length", "1")], 400, "missing_host"),
            ([("Host", "a"), ("Host", "b")], 400, "duplicate_host"),
            ([("Host", "a b")], 400, "invalid_host"),
            ([("Host", "a"), ("Content-Length", "1001")], 413, "body_too_large"),
            ([("Host", "a"), ("Expect", "something-else")], 417, "unsupported_expectation"),
        ] as [([(String, String)], Int, String)]
    )
    func refusesHeads(fields: [(String, String)], status: Int, reason: String) throws {
        let refusal = try #require(refused(try head(fields)))
        #expect(Int(refusal.status.code) == status)
        #expect(refusal.reason == reason)
    }

    @Test(arguments: ["/a/../b", "/a/./b", "/%2e%2E/admin", "/..", "/a/%2e"])
    func refusesDotSegments(path: String) throws {
        let refusal = try #require(refused(try head([("Host", "a")], uri: path, method: .GET)))
        #expect(refusal.reason == "dot_segment_in_path")
    }

    /// The byte scan agrees with the definition it replaced (split on `/`, lowercase, `%2e` → `.`, compare) on
    /// every path built from these pieces, up to three segments.
    @Test func dotSegmentScanMatchesTheDefinition() {
        func definition(_ path: String) -> Bool {
            path.split(separator: "/", omittingEmptySubsequences: false).contains { segment in
                let decoded = segment.lowercased().replacing("%2e", with: ".")
                return decoded == "." || decoded == ".."
            }
        }
        let pieces = ["", ".", "..", "...", "%2e", "%2E", "%2e.", ".%2E", "%2", "%2f", "%", "a", "a.", ".a", "%2ea"]
        var checked = 0
        for first in pieces {
            for second in pieces {
                for third in ["", "b", ".."] {
                    let path = "/" + first + "/" + second + (third.isEmpty ? "" : "/" + third)
                    #expect(
                        RequestValidation.hasDotSegment(path[...]) == definition(path),
                        "\(path)"
                    )
                    checked += 1
                }
            }
        }
        #expect(RequestValidation.hasDotSegment("/a/%2e%2e"[...]))
        #expect(!RequestValidation.hasDotSegment("/a/b.c/%2ex"[...]))
        #expect(checked == pieces.count * pieces.count * 3)
    }

    @Test func refusesChunkedHTTP10AndConnect() throws {
        let chunked10 = try #require(refused(try head([("Transfer-Encoding", "chunked")], version: .http1_0)))
        #expect(chunked10.reason == "transfer_encoding_in_http_1_0")
        let connect = try #require(refused(try head([("Host", "a")], uri: "a:443", method: .CONNECT)))
        #expect(connect.status == .methodNotAllowed)
    }

    @Test func acceptsOrdinaryRequests() throws {
        guard
            case .success(let chunked) = RequestValidation.validate(
                try head([("Host", "Example.COM:8080"), ("Transfer-Encoding", "Chunked")], uri: "/x/y?z=1"),
                limits: .init()
            )
        else { Issue.record("refused"); return }
        #expect(chunked.framing == .chunked)
        #expect(chunked.host == "example.com")
        #expect(chunked.path == "/x/y")
        #expect(chunked.target == "/x/y?z=1")

        guard
            case .success(let absolute) = RequestValidation.validate(
                try head([("Host", "ignored")], uri: "http://Other.example:81/p?q", method: .GET),
                limits: .init()
            )
        else { Issue.record("refused"); return }
        #expect(absolute.host == "other.example")
        #expect(absolute.target == "/p?q")
        #expect(absolute.framing == .none)

        guard
            case .success(let http10) = RequestValidation.validate(
                try head([], method: .GET, version: .http1_0),
                limits: .init()
            )
        else { Issue.record("refused"); return }
        #expect(http10.host == nil)
    }
}
