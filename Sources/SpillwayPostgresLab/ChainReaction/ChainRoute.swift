/// B's two routes, each driven by its own open-loop stream from the gateway (the lab's generator).
package enum ChainRoute: String, Sendable, Hashable, Codable, CaseIterable {
    /// `GET /a`: B calls A, which runs a transaction on a hot row.
    case dependent = "/a"
    /// `GET /local`: B answers without A.
    case local = "/local"

    /// The path on B.
    package var path: String { rawValue }
}
