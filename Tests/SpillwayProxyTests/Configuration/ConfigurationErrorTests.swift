import Spillway
import Testing

@testable import SpillwayProxy

@Suite("Configuration errors name the line and the key")
struct ConfigurationErrorTests {
    private func failure(_ text: String, format: ProxyConfiguration.FileFormat = .yaml) -> ProxyConfigurationError? {
        do {
            _ = try ProxyConfiguration(text: text, format: format, fileName: "proxy.\(format.rawValue)")
            return nil
        } catch {
            return error
        }
    }

    private static let minimalYAML = """
        listen: 127.0.0.1:8000
        clusters:
          app:
            instances: [127.0.0.1:8080]
        routes:
          - name: all
            cluster: app
        """

    @Test func minimalYAMLLoadsWithDefaults() throws {
        let configuration = try ProxyConfiguration(text: Self.minimalYAML, format: .yaml)
        #expect(configuration.listen == .init(host: "127.0.0.1", port: 8000))
        #expect(configuration.routes.map(\.name) == ["all"])
        #expect(configuration.routes[0].pathPrefix == "/")
        #expect(configuration.routes[0].admission == ProxyConfiguration.Route.Admission())
        #expect(configuration.clusters[0].instances == [.init(host: "127.0.0.1", port: 8080)])
    }

    @Test func unknownClusterIsNamedWithLineAndKey() throws {
        let text = Self.minimalYAML.replacing("cluster: app", with: "cluster: ap")
        let error = try #require(failure(text))
        #expect(error.code == .unknownReference)
        #expect(error.line == 7)
        #expect(error.key == "routes[0].cluster")
        #expect(error.description.hasPrefix("proxy.yaml:7: routes[0].cluster: no cluster named \"ap\""))
    }

    @Test func typoSuggestsTheKnownKey() throws {
        let text = Self.minimalYAML + "\n    path_prefx: /api"
        let error = try #require(failure(text))
        #expect(error.code == .unknownKey)
        #expect(error.line == 8)
        #expect(error.key == "routes[0].path_prefx")
        #expect(error.message.contains("did you mean path_prefix?"))
    }

    @Test func durationWithoutUnitIsRefused() throws {
        let text = Self.minimalYAML + "\ntimeouts:\n  client_header: 10"
        let error = try #require(failure(text))
        #expect(error.code == .invalidValue)
        #expect(error.line == 9)
        #expect(error.key == "timeouts.client_header")
        #expect(error.message.contains("10s"))
    }

    @Test func yamlSyntaxErrorHasALine() throws {
        let error = try #require(failure("listen: 127.0.0.1:8000\nclusters:\n  app: [unclosed\n"))
        #expect(error.code == .syntax)
        #expect(error.line != nil)
    }

    @Test func tomlKeysHaveLines() throws {
        let text = """
            listen = "127.0.0.1:8000"

            [clusters.app]
            instances = ["127.0.0.1:8080"]

            [[routes]]
            name = "all"
            cluster = "app"

            [[routes]]
            name = "api"
            path_prefix = "/api"
            cluster = "nope"
            """
        let error = try #require(failure(text, format: .toml))
        #expect(error.code == .unknownReference)
        #expect(error.key == "routes[1].cluster")
        #expect(error.line == 13)
    }

    @Test func tomlLoads() throws {
        let text = """
            listen = "127.0.0.1:8000"
            admin = false

            [clusters.app]
            instances = ["127.0.0.1:8080", "127.0.0.1:8081"]
            balancer = "ewma"

            [[routes]]
            name = "all"
            cluster = "app"

            [[routes.rate_limits]]
            name = "per-client"
            key = "client_address"
            limit = 100
            period = "1s"
            """
        let configuration = try ProxyConfiguration(text: text, format: .toml)
        #expect(configuration.admin == nil)
        #expect(configuration.clusters[0].balancer == .ewmaLatency)
        #expect(configuration.routes[0].rateLimits.map(\.name) == ["per-client"])
    }
}
