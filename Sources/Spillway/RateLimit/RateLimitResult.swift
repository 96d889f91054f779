/// The answer of a ``RateLimiter`` for one request, with its HTTP form.
///
/// ```swift
/// let result = try await limiter.check(request)
/// var fields = result.headerFields()          // RateLimit-Policy, RateLimit (+ Retry-After when denied)
/// if let status = result.statusCode {          // 429
///     return Response(status: status, headers: fields)
/// }
/// ```
///
/// Header fields follow draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026), the latest revision:
/// `RateLimit-Policy` lists every policy that applied to the request as `"name";q=<quota>;w=<window seconds>`;
/// `RateLimit` carries `"name";r=<remaining>;t=<seconds>` for every policy on an allowed request (`t` = seconds until
/// the quota is fully restored, rounded up), and for the denying policy only on a denial (`t` = the retry-after, so
/// that `Retry-After` is never earlier than the end of the effective window, §6). No partition key (`pk`) is sent:
/// keys are client addresses and API keys, which the draft (§6.1) says not to disclose.
public struct RateLimitResult: Sendable {
    /// The status of a denied request: 429 Too Many Requests (RFC 6585).
    public static let deniedStatusCode = 429

    /// One policy's part in the result.
    public struct PolicyResult: Sendable {
        /// The policy's name.
        public var policy: String
        /// The key the request was counted under.
        public var key: String
        /// The policy's advertised quota.
        public var quota: RateLimitQuota
        /// The policy's decision, or `nil` when it was not consulted because an earlier policy denied.
        public var decision: RateLimitDecision?
        /// Whether the units this policy consumed were given back because a later policy denied.
        public var refunded: Bool
    }

    /// Whether every applicable policy allowed the request.
    public var isAllowed: Bool
    /// Every policy whose key applied to the request, in the limiter's order.
    public var policies: [PolicyResult]
    /// The position in ``policies`` of the policy that denied, if any.
    public var deniedIndex: Int?

    /// The policy that denied the request.
    public var deniedBy: PolicyResult? { deniedIndex.map { policies[$0] } }

    /// How long the client should wait before retrying; `nil` when allowed, and when the cost exceeds the denying
    /// policy's capacity (waiting cannot help).
    public var retryAfter: Duration? { deniedBy?.decision?.retryAfter }

    /// 429 for a denial, `nil` when the request may proceed.
    public var statusCode: Int? { isAllowed ? nil : Self.deniedStatusCode }

    /// The response header fields: `RateLimit-Policy` (unless `includingPolicy` is `false`), `RateLimit`, and for a
    /// denial that waiting can cure, `Retry-After` in whole seconds rounded up (at least 1).
    public func headerFields(includingPolicy: Bool = true) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        guard !policies.isEmpty else { return fields }
        if includingPolicy {
            let items = policies.map { policy in
                "\(RateLimitHeaderFormat.string(policy.policy));q=\(policy.quota.quota);w=\(policy.quota.windowSeconds)"
            }
            fields.append((name: "RateLimit-Policy", value: items.joined(separator: ", ")))
        }
        let reported = deniedIndex.map { [policies[$0]] } ?? policies
        let items = reported.compactMap { policy -> String? in
            guard let decision = policy.decision else { return nil }
            var item = "\(RateLimitHeaderFormat.string(policy.policy));r=\(decision.remaining)"
            if decision.isAllowed {
                item += ";t=\(RateLimitArithmetic.wholeSecondsRoundedUp(decision.resetAfter))"
            } else if let retryAfter = decision.retryAfter {
                item += ";t=\(RateLimitArithmetic.wholeSecondsRoundedUp(retryAfter, minimum: 1))"
            }
            return item
        }
        if !items.isEmpty { fields.append((name: "RateLimit", value: items.joined(separator: ", "))) }
        if let retryAfter {
            fields.append(
                (name: "Retry-After", value: String(RateLimitArithmetic.wholeSecondsRoundedUp(retryAfter, minimum: 1)))
            )
        }
        return fields
    }
}

/// Structured-field (RFC 9651) serialisation of the few values the rate-limit fields use.
enum RateLimitHeaderFormat {
    /// An sf-string: quoted, with `"` and `\` escaped; characters outside printable ASCII are dropped (policy names
    /// are validated, so this never happens for them).
    static func string(_ value: String) -> String {
        var output = "\""
        for scalar in value.unicodeScalars where scalar.value >= 0x20 && scalar.value <= 0x7E {
            if scalar == "\"" || scalar == "\\" { output.append("\\") }
            output.unicodeScalars.append(scalar)
        }
        output.append("\"")
        return output
    }
}
