import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayHummingbird
import Testing

@Suite struct SpillwayHTTPErrorTests {
    /// Reasons a caller of the public initializer might pass, or an attacker might get into one.
    static let hostileReasons = [
        #"quote"d"#, #"back\slash"#, "new\nline\r\ttab", "\u{0}\u{1}\u{8}\u{C}\u{1F}\u{7F}", "</script><b>",
        "é ü 日本 🚦", "\u{2028}\u{2029}", #""},"error":"injected","x":{"#, #"\u0022"#, "",
        String(repeating: "\"", count: 64),
    ]

    /// Defect: the 503/429/504 body was concatenated without escaping, so a reason with a quote, a backslash or a
    /// control character made invalid JSON (or injected fields).
    @Test func refusalBodyIsValidJSONWhateverTheReason() async throws {
        let router = Router()
        router.get("/refuse/:index") { _, context -> String in
            let index = try context.parameters.require("index", as: Int.self)
            throw SpillwayHTTPError(
                code: [.overloaded, .rateLimited, .deadlineExceeded][index % 3],
                reason: Self.hostileReasons[index],
                priority: .sheddable,
                retryAfter: .seconds(2)
            )
        }
        try await Application(router: router).test(.router) { client in
            for index in Self.hostileReasons.indices {
                try await client.execute(uri: "/refuse/\(index)", method: .get) { response in
                    let bytes = Data(response.body.readableBytesView)
                    #expect(response.headers[.contentLength] == String(bytes.count))
                    let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
                    let body = try #require(object, "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
                    #expect(body["reason"] as? String == Self.hostileReasons[index])
                    #expect(Set(body.keys) == ["error", "reason", "priority", "retry_after_s"])
                    #expect(body["error"] as? String == ["overloaded", "rate_limited", "deadline_exceeded"][index % 3])
                }
            }
        }
    }

    /// The 429 reason is the denying policy's name; names are validated by the core, and whatever they allow
    /// reaches the body intact.
    @Test func rateLimitRefusalNamesThePolicyInValidJSON() async throws {
        let name = "a.b-c_D.9"
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try TokenBucket(capacity: 1, refill: 1, per: .seconds(60)),
            clock: clock
        )
        let limiter = try RateLimiter(
            policies: [try RateLimitPolicy(name: name, key: .global, store: store)],
            clock: clock
        )
        let router = Router()
        router.add(middleware: try RateLimitMiddleware(limiter: limiter))
        router.get("/items") { _, _ in "items" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/items", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/items", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                let body = try #require(object as? [String: Any])
                #expect(body["reason"] as? String == name)
            }
        }
    }
}
