import Foundation
import Spillway
import SpillwayPostgresLab
import Testing

@testable import SpillwayJobs

/// `spillway jobs …` as an operator runs it: the built executable against an SQLite file and a PostgreSQL URL.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct JobsCommandTests {
    /// A store with a dead-lettered job (two failed attempts), a completed one and a ready one.
    private func prepare(_ store: JobStore) async throws -> (dead: JobID, done: JobID, ready: JobID) {
        let dead = try await store.enqueue(Flaky(number: 1), options: .init(queue: "emails", maxAttempts: 2))
        for attempt in 1...2 {
            let claim = try #require(
                try await store.claim(queue: "emails", limit: 1, worker: "w", lease: .seconds(30)).first
            )
            _ = try await store.fail(
                claim.reference,
                error: "SMTP refused (\(attempt))",
                retryDelay: .zero,
                permanent: false
            )
        }
        let done = try await store.enqueue(Greeting(name: "done"), options: .init(queue: "emails"))
        let claim = try #require(
            try await store.claim(queue: "emails", limit: 1, worker: "w", lease: .seconds(30)).first
        )
        try await store.complete(claim.reference)
        let ready = try await store.enqueue(Greeting(name: "waiting"), options: .init(queue: "emails"))
        return (dead, done, ready)
    }

    @Test func listShowReplayDiscardAndStatsOnSQLite() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let store = try JobStore(sqlitePath: path, clock: ContinuousClock())
        try await operate(on: store, at: path)
        try await store.close()
    }

    @Test func listShowReplayDiscardAndStatsOnPostgreSQL() async throws {
        let server = try await LocalPostgres.shared()
        let database = try await TestStores.createDatabase(on: server, prefix: "cli")
        let url = "postgres://postgres@127.0.0.1:\(server.port)/\(database)?sslmode=disable"
        try await JobStoreLocation(parsing: url).withStore(logger: TestStores.logger) { store in
            try await operate(on: store, at: url)
        }
    }

    /// Runs `spillway jobs stats | list | show | replay | discard` against `location` (the database of `store`),
    /// checking each command's effect through `store`.
    private func operate(on store: JobStore, at path: String) async throws {
        let (dead, _, ready) = try await prepare(store)

        let stats = try await BuiltExecutables.spillway(["jobs", "stats", "--database", path])
        #expect(stats.status == 0, "\(stats.output)")
        let row = try #require(stats.output.split(separator: "\n").first { $0.hasPrefix("emails") })
        #expect(
            row.split(separator: " ", omittingEmptySubsequences: true).prefix(6) == ["emails", "1", "0", "0", "1", "1"]
        )

        let list = try await BuiltExecutables.spillway(["jobs", "list", "--state", "dead", "-d", path])
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains("\(dead)"))
        #expect(list.output.contains("SMTP refused (2)"))
        #expect(!list.output.contains("waiting"))

        let show = try await BuiltExecutables.spillway(["jobs", "show", "\(dead)", "-d", path])
        #expect(show.status == 0, "\(show.output)")
        #expect(show.output.contains("#1 failed"))
        #expect(show.output.contains("SMTP refused (1)"))
        #expect(show.output.contains("#2 failed"))

        let json = try await BuiltExecutables.spillway(["jobs", "show", "\(dead)", "-d", path, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect((object["history"] as? [Any])?.count == 2)
        #expect(object["state"] as? String == "dead")

        let replay = try await BuiltExecutables.spillway(["jobs", "replay", "\(dead)", "\(ready)", "-d", path])
        #expect(replay.status != 0, "one id could not be replayed")
        #expect(replay.output.contains("\(dead): replayed"))
        #expect(replay.output.contains("\(ready): not replayed: it is ready"))
        let replayed = try #require(try await store.job(dead))
        #expect(replayed.state == .ready)
        #expect(replayed.history.map(\.outcome) == [.failed, .failed, .replayed])

        let claim = try #require(
            try await store.claim(queue: "emails", limit: 2, worker: "w", lease: .seconds(30)).first { $0.id == dead }
        )
        _ = try await store.fail(claim.reference, error: "still broken", retryDelay: .zero, permanent: true)
        let discard = try await BuiltExecutables.spillway(["jobs", "discard", "\(dead)", "-d", path])
        #expect(discard.status == 0, "\(discard.output)")
        #expect(try await store.job(dead) == nil)
    }

    @Test func missingDatabaseAndBadIdsAreClearErrors() async throws {
        let missing = try await BuiltExecutables.spillway(["jobs", "list", "-d", "/nonexistent/jobs.sqlite"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no job store at /nonexistent/jobs.sqlite"))
        let badID = try await BuiltExecutables.spillway(["jobs", "show", "abc", "-d", "/nonexistent/jobs.sqlite"])
        #expect(badID.status != 0)
        #expect(badID.output.contains("abc"))
        let badURL = try await BuiltExecutables.spillway(["jobs", "stats", "-d", "postgres://"])
        #expect(badURL.status != 0)
        #expect(badURL.output.contains("not a PostgreSQL URL"))
    }

    @Test func statsAgainstAPostgreSQLURL() async throws {
        let server = try await LocalPostgres.shared()
        let database = try await TestStores.createDatabase(on: server, prefix: "cli")
        let url = "postgres://postgres@127.0.0.1:\(server.port)/\(database)?sslmode=disable"
        try await JobStoreLocation(parsing: url).withStore(logger: TestStores.logger) { store in
            _ = try await prepare(store)
        }
        let stats = try await BuiltExecutables.spillway(["jobs", "stats", "-d", url, "--json"])
        #expect(stats.status == 0, "\(stats.output)")
        let queues = try #require(try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [[String: Any]])
        #expect(queues.first?["name"] as? String == "emails")
        #expect(queues.first?["dead"] as? Int == 1)
        #expect(queues.first?["completed"] as? Int == 1)
    }

    @Test func benchMeasuresJobsBesideTheFloor() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let bench = try await BuiltExecutables.spillway([
            "jobs", "bench", "-d", path, "--jobs", "300", "--rounds", "1", "--producers", "4", "--json",
        ])
        #expect(bench.status == 0, "\(bench.output)")
        let line = try #require(bench.output.split(separator: "\n").last { $0.hasPrefix("{") })
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["backend"] as? String == "sqlite")
        #expect((result["jobs_per_s"] as? Int ?? 0) > 0)
        #expect((result["floor_per_s"] as? Int ?? 0) > 0)
        let store = try JobStore(sqlitePath: path)
        #expect(try await store.stats().isEmpty, "the benchmark prunes its jobs")
        try await store.close()
    }
}
