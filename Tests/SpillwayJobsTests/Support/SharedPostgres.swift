import SpillwayPostgresLab

/// The jobs tests' PostgreSQL: the lab's ``LocalPostgres`` (one `initdb` template per process, a free loopback port
/// with another tried when the first was taken meanwhile, a watchdog that stops the server when the test process
/// ends), shared by the tests of this process, each in its own database; the restart drill starts a private one.
extension LocalPostgres {
    /// The server the tests of this process share (started on first use; a failed start is retried by the next
    /// caller instead of failing every later test).
    static func shared() async throws -> LocalPostgres {
        try await SharedPostgres.instance.server()
    }

    /// The URL `JobStoreLocation` parses.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }
}

private actor SharedPostgres {
    static let instance = SharedPostgres()
    private var starting: Task<LocalPostgres, any Error>?

    func server() async throws -> LocalPostgres {
        if let starting, let server = try? await starting.value { return server }
        let task = Task { () async throws -> LocalPostgres in try await LocalPostgres.startPrimary() }
        starting = task
        return try await task.value
    }
}
