/// nginx (OSS) in front of the unprotected victim, configured the way its documentation limits overload: the
/// upstream allows `max_conns = slots` active connections (shared through a `zone`; when all are busy nginx answers
/// 502 at once — the upstream `queue` directive is commercial only), and `limit_conn` caps requests in progress
/// at 4 × slots with 503 beyond.
package enum NginxPeer {
    package static func configuration(port: Int, victimPort: Int, slots: Int, directory: String) -> String {
        """
        worker_processes 1;
        daemon off;
        master_process off;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log crit;
        events { worker_connections 20000; }
        http {
            access_log off;
            client_body_temp_path \(directory)/client_body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            limit_conn_zone $server_name zone=perserver:1m;
            limit_conn_status 503;
            upstream victim {
                zone victim 64k;
                server 127.0.0.1:\(victimPort) max_conns=\(slots);
                keepalive 32;
            }
            server {
                listen 127.0.0.1:\(port) backlog=4096;
                keepalive_requests 100000;
                limit_conn perserver \(slots * 4);
                location / {
                    proxy_pass http://victim;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_read_timeout 30s;
                    proxy_next_upstream off;
                }
            }
        }

        """
    }

    static func launch(victimPort: Int, slots: Int) async throws(LabError) -> PeerProcess {
        try await PeerProcess.launch(
            name: "nginx",
            binary: "nginx",
            fileName: "nginx.conf",
            makeConfiguration: { port, directory in
                configuration(port: port, victimPort: victimPort, slots: slots, directory: directory)
            },
            arguments: { configPath, directory in ["-p", directory, "-c", configPath] }
        )
    }
}
