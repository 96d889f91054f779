/// An HAProxy started by a test on a free loopback port (`-db`: foreground, one process), stopped after.
///
/// `frontend` adds lines to the `frontend test` section after its `bind` line (rules, `default_backend`);
/// `sections` adds whole sections (a `backend`).
///
/// ```swift
/// let backend = "backend app\n    server app 127.0.0.1:\(appPort) maxconn 2"
/// try await withHAProxy(frontend: "default_backend app", sections: backend) { haproxy in … }
/// ```
package enum HAProxyServer {
    /// The path that answers with the server's process id (how the launcher knows the port is its own).
    package static let processIDPath = "/spillway-test-server-pid"

    /// Starts HAProxy with `frontend` lines and extra `sections`.
    package static func start(frontend: String, sections: String = "") async throws -> ServerProcess {
        try await ServerProcess.start(launch(frontend: frontend, sections: sections))
    }

    /// The launch description: `haproxy.cfg` written into the server's folder.
    package static func launch(frontend: String, sections: String = "") -> ServerLaunch {
        ServerLaunch(
            name: "haproxy",
            binary: "haproxy",
            package: "haproxy",
            files: { port, _ in ["haproxy.cfg": configuration(port: port, frontend: frontend, sections: sections)] },
            arguments: { _, directory in ["-db", "-f", directory + "/haproxy.cfg"] },
            processID: { port in
                await Loopback.httpGet(port: port, path: processIDPath).flatMap { Int32($0) }
            }
        )
    }

    static func configuration(port: Int, frontend: String, sections: String) -> String {
        """
        global
            maxconn 4096
        defaults
            mode http
            timeout connect 1s
            timeout client 30s
            timeout server 30s
        frontend test
            bind 127.0.0.1:\(port)
            http-request return status 200 content-type text/plain lf-string "%pid" if { path \(processIDPath) }
        \(frontend)
        \(sections)

        """
    }
}

/// Runs `body` with an HAProxy started with `frontend` lines and extra `sections`, stopping it afterwards.
package func withHAProxy<T>(
    frontend: String,
    sections: String = "",
    _ body: (ServerProcess) async throws -> T
) async throws -> T {
    try await withServer(HAProxyServer.launch(frontend: frontend, sections: sections), body)
}
