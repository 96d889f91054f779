import SpillwayRedis
import SpillwayTestSupport

extension RedisServer {
    /// How to connect to this server (with its password, if it has one).
    var connectionConfiguration: RedisConnectionConfiguration {
        var configuration = RedisConnectionConfiguration(port: port)
        configuration.authentication = password.map { RedisAuthentication(password: $0) }
        return configuration
    }
}
