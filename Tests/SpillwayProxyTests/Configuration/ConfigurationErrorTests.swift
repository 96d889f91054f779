import Foundation
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

    static let minimalYAML = """
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
        #expect(configuration.clusters[0].abandonedRequests == .hold)
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
            abandoned_requests = "close"

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
        #expect(configuration.clusters[0].abandonedRequests == .close)
        #expect(configuration.routes[0].rateLimits.map(\.name) == ["per-client"])
    }
}

@Suite("Configuration mistakes each get their own message")
struct ConfigurationMistakeTests {
    private static let base = """
        clusters:
          app:
            instances: [127.0.0.1:8080]
        routes:
          - name: all
            cluster: app
        """

    private func failure(_ text: String) -> ProxyConfigurationError? {
        do {
            _ = try ProxyConfiguration(text: text, format: .yaml, fileName: "p.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test(
        arguments: [
            ("listen: nowhere\n" + base, "listen", ProxyConfigurationError.Code.invalidValue, "has no port"),
            ("listen: ::1:80\n" + base, "listen", .invalidValue, "brackets"),
            (
                base + "\n    rate_limits:\n      - {name: x, key: global, limit: 5, period: 1s, store: redis}",
                "routes[0].rate_limits[0].store", .unknownReference, "redis"
            ),
            (
                base + "\n    rate_limits:\n      - {name: x, key: someone, limit: 5, period: 1s}",
                "routes[0].rate_limits[0].key", .invalidValue, "client_address"
            ),
            (
                base + "\n    rate_limits:\n      - {name: x, key: global, period: 1s}",
                "routes[0].rate_limits[0].limit", .missingKey, "required"
            ),
            (
                base + "\n  - name: all\n    cluster: app\n    path_prefix: /x", "routes[1].name", .invalidValue,
                "unique"
            ),
            (base + "\n  - name: other\n    cluster: app", "routes[1].path_prefix", .invalidValue, "already serves"),
            (base + "\n    priority: {default: urgent}", "routes[0].priority.default", .invalidValue, "critical_plus"),
            (
                base + "\n    admission: {queue_length: -1}", "routes[0].admission.queue_length", .invalidValue,
                "out of range"
            ),
            (base + "\n    path_prefix: api", "routes[0].path_prefix", .invalidValue, "start with /"),
            ("limits: {max_body_bytes: lots}\n" + base, "limits.max_body_bytes", .invalidValue, "10MiB"),
            ("threads: many\n" + base, "threads", .wrongType, "whole number"),
            ("routes: []\nclusters: {}", "clusters", .invalidValue, "at least one"),
            ("clusters:\n  app: {instances: []}\nroutes: []", "clusters.app.instances", .missingKey, "host:port"),
            (
                "clusters:\n  app:\n    instances: [127.0.0.1:1]\n  app: {instances: [127.0.0.1:2]}\nroutes: []",
                "clusters.app", .duplicateKey, "twice"
            ),
            (
                "clusters:\n  app:\n    instances: [127.0.0.1:1]\n    balancer: random\nroutes: []",
                "clusters.app.balancer", .invalidValue, "least_inflight"
            ),
            (
                "clusters:\n  app:\n    instances: [127.0.0.1:1]\n    abandoned_requests: drop\nroutes: []",
                "clusters.app.abandoned_requests", .invalidValue, "use hold or close"
            ),
        ] as [(String, String, ProxyConfigurationError.Code, String)]
    )
    func mistake(text: String, key: String, code: ProxyConfigurationError.Code, hint: String) throws {
        let error = try #require(failure(text))
        #expect(error.key == key, "\(error)")
        #expect(error.code == code, "\(error)")
        #expect(error.message.contains(hint), "\(error)")
        #expect(error.line != nil, "\(error)")
    }

    @Test func unknownTopLevelKeyListsTheKnownOnes() throws {
        let error = try #require(failure("listn: 127.0.0.1:1\n" + Self.base))
        #expect(error.key == "listn")
        #expect(error.line == 1)
        #expect(error.message.contains("did you mean listen?"))
    }

    @Test func duplicateKeyInAListItemNamesTheKeyAndItsLine() throws {
        let error = try #require(failure(Self.base + "\n    cluster: other"))
        #expect(error.code == .duplicateKey)
        #expect(error.key == "cluster")
        #expect(error.line == 6)
    }

    /// The schema in the DocC article writes every admission setting at its default value; loaded, that line is
    /// the default. (It once said `adaptive_lifo: true` while the default was FIFO.)
    @Test func theDocumentedAdmissionDefaultsAreTheDefaults() throws {
        var directory = #filePath
        for _ in 0..<4 { directory = String(directory[..<directory.lastIndex(of: "/")!]) }
        let article = try String(
            contentsOfFile: directory + "/Sources/SpillwayProxy/SpillwayProxy.docc/ProtectingAnyHTTPService.md",
            encoding: .utf8
        )
        let line = try #require(
            article.split(separator: "\n").first { $0.contains("{queue_length:") },
            "the article's schema should show the admission settings"
        )
        let documented = line.trimmingCharacters(in: .whitespaces)
        let configuration = try ProxyConfiguration(
            text: ConfigurationErrorTests.minimalYAML + "\n    admission: \(documented)",
            format: .yaml
        )
        #expect(configuration.routes[0].admission == ProxyConfiguration.Route.Admission())
    }

    @Test func exampleConfigurationsLoad() throws {
        var directory = #filePath
        for _ in 0..<4 { directory = String(directory[..<directory.lastIndex(of: "/")!]) }
        let configuration = try ProxyConfiguration(contentsOfFile: directory + "/Examples/proxy/victim.yaml")
        #expect(configuration.routes.map(\.name) == ["victim", "ping"])
        #expect(configuration.routes[1].admission == nil)
        #expect(configuration.clusters[0].healthCheck?.path == "/ping")
    }
}
