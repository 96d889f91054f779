/// HAProxy in front of the unprotected victim, configured the way a tuned proxy limits overload: at most `slots`
/// requests on the server (`maxconn`), a FIFO queue in front with `timeout queue` (503 when it fires), and priority
/// classes from `x-request-priority` (`set-priority-class`, served lowest class value first).
///
/// `option abortonclose` drops queued requests whose client already left, which is the kindest setting for HAProxy
/// here. Anything not an overload setting is left generous so it does not interfere (30 s client/server timeouts).
package enum HAProxyPeer {
    package static func configuration(port: Int, victimPort: Int, slots: Int, queueTimeout: Duration) -> String {
        """
        global
            maxconn 8000
            nbthread 1
        defaults
            mode http
            timeout connect 1s
            timeout client 30s
            timeout server 30s
            timeout http-keep-alive 30s
            timeout queue \(max(1, queueTimeout.nanoseconds / 1_000_000))ms
            option abortonclose
            retries 0
        frontend lab
            bind 127.0.0.1:\(port)
            http-request set-priority-class int(-2) if { req.hdr(x-request-priority) -m str critical_plus }
            http-request set-priority-class int(-1) if { req.hdr(x-request-priority) -m str critical }
            http-request set-priority-class int(1) if { req.hdr(x-request-priority) -m str sheddable_plus }
            http-request set-priority-class int(2) if { req.hdr(x-request-priority) -m str sheddable }
            default_backend victim
        backend victim
            http-reuse safe
            server victim 127.0.0.1:\(victimPort) maxconn \(slots)

        """
    }

    static func launch(victimPort: Int, slots: Int, queueTimeout: Duration) async throws(LabError) -> PeerProcess {
        try await PeerProcess.launch(
            name: "haproxy",
            binary: "haproxy",
            fileName: "haproxy.cfg",
            makeConfiguration: { port, _ in
                configuration(port: port, victimPort: victimPort, slots: slots, queueTimeout: queueTimeout)
            },
            arguments: { configPath, _ in ["-db", "-f", configPath] }
        )
    }
}
