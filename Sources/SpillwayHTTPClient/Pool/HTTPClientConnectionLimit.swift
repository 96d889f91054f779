import AsyncHTTPClient

extension HTTPClient {
    /// The per-host connection limit the client was created with
    /// (`configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit`), read by reflection because
    /// AsyncHTTPClient keeps its configuration internal; `nil` when its layout changed and the value cannot be
    /// found.
    var connectionsPerHostLimit: Int? {
        let configuration = Mirror(reflecting: self).descendant("configuration")
        guard let configuration else { return nil }
        let limit = Mirror(reflecting: configuration).descendant(
            "connectionPool",
            "concurrentHTTP1ConnectionsPerHostSoftLimit"
        )
        return limit as? Int
    }
}
