import Spillway

/// The HTTP request a traffic stream sends.
package struct RequestTemplate: Sendable, Hashable {
    /// The method (default `GET`).
    package var method: String
    /// The path and query (default `/`).
    package var path: String
    /// Extra headers, in order.
    package var headers: [Header]
    /// The body, if any.
    package var body: [UInt8]?

    /// One header field.
    package struct Header: Sendable, Hashable {
        /// The field name.
        package var name: String
        /// The field value.
        package var value: String

        /// A header `name: value`.
        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request template.
    package init(method: String = "GET", path: String = "/", headers: [Header] = [], body: [UInt8]? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// One kind of traffic in a load plan: its share of the profile's rate, the request it sends, its priority, the
/// caller's deadline and how the caller retries.
///
/// ```swift
/// let critical = TrafficStream(name: "checkout", share: 0.1, request: .init(path: "/work"),
///                              priority: .criticalPlus, deadline: .seconds(1), retry: .naive(maxRetries: 3, interval: .zero))
/// ```
package struct TrafficStream: Sendable, Hashable {
    /// A short name for tables and charts.
    package var name: String
    /// The fraction of the profile's rate this stream sends (shares of a plan need not sum to 1).
    package var share: Double
    /// The request each attempt sends.
    package var request: RequestTemplate
    /// The priority class sent in the `x-request-priority` header, if any.
    package var priority: Priority?
    /// How long the caller waits for each attempt before giving up (and closing the connection).
    package var deadline: Duration
    /// What the caller does when an attempt fails.
    package var retry: RetryBehaviour

    /// A traffic stream.
    package init(
        name: String,
        share: Double = 1,
        request: RequestTemplate,
        priority: Priority? = nil,
        deadline: Duration = .seconds(1),
        retry: RetryBehaviour = .none
    ) {
        self.name = name
        self.share = share
        self.request = request
        self.priority = priority
        self.deadline = deadline
        self.retry = retry
    }
}
