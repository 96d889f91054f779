/// An nginx started by a test on a free loopback port, with `daemon off` and `master_process off` (one process, so
/// that stopping it leaves nothing behind), its paths in its own folder, and stopped after.
///
/// `server` is the body of the `server {}` block after its `listen` line: locations, `return`, `proxy_pass`.
/// `http` adds directives to the `http {}` block (an `upstream`, a `limit_req_zone`).
///
/// ```swift
/// try await withNginx(server: "location / { return 200 'hello'; }") { nginx in
///     let body = await Loopback.httpGet(port: nginx.port, path: "/")
/// }
/// ```
package enum NginxServer {
    /// The path that answers with the server's process id (how the launcher knows the port is its own).
    package static let processIDPath = "/spillway-test-server-pid"

    /// Starts nginx with `server` (and `http`) directives.
    package static func start(server: String, http: String = "") async throws -> ServerProcess {
        try await ServerProcess.start(launch(server: server, http: http))
    }

    /// The launch description: `nginx.conf` written into the server's folder.
    package static func launch(server: String, http: String = "") -> ServerLaunch {
        ServerLaunch(
            name: "nginx",
            binary: "nginx",
            package: "nginx-light",
            files: { port, directory in
                ["nginx.conf": configuration(port: port, directory: directory, server: server, http: http)]
            },
            arguments: { _, directory in
                ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"]
            },
            processID: { port in
                await Loopback.httpGet(port: port, path: processIDPath).flatMap { Int32($0) }
            }
        )
    }

    static func configuration(port: Int, directory: String, server: String, http: String) -> String {
        """
        daemon off;
        master_process off;
        worker_processes 1;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path \(directory)/client_body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
        \(http)
            server {
                listen 127.0.0.1:\(port);
                location = \(processIDPath) { return 200 "$pid"; }
        \(server)
            }
        }

        """
    }
}

/// Runs `body` with an nginx started with `server` (and `http`) directives, stopping it afterwards.
package func withNginx<T>(
    server: String,
    http: String = "",
    _ body: (ServerProcess) async throws -> T
) async throws -> T {
    try await withServer(NginxServer.launch(server: server, http: http), body)
}
