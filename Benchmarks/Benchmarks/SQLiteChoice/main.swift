import Foundation
import GRDB
import SQLiteNIO

// Which SQLite library SpillwayJobs should use, measured on the job queue's own workload: per job one INSERT
// (enqueue), one UPDATE … RETURNING of the next ready row (claim) and one UPDATE (complete), each its own
// transaction, from concurrent tasks, on a file in WAL mode with synchronous=NORMAL. Rounds alternate the two
// libraries so both see the same machine state.
//
//   swift run -c release --package-path Benchmarks SQLiteChoice [jobs] [tasks] [rounds]

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
let jobs = arguments.count > 0 ? arguments[0] : 20_000
let tasks = arguments.count > 1 ? arguments[1] : 8
let rounds = arguments.count > 2 ? arguments[2] : 3

let schema = """
    CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, payload TEXT NOT NULL,
        state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, run_at INTEGER NOT NULL, lease INTEGER)
    """
let index = "CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE state = 'ready'"
let insert = "INSERT INTO jobs (queue, payload, state, run_at) VALUES ('q', ?, 'ready', ?)"
let claim = """
    UPDATE jobs SET state = 'running', attempt = attempt + 1, lease = ?
    WHERE id = (SELECT id FROM jobs WHERE state = 'ready' AND queue = 'q' ORDER BY run_at, id LIMIT 1)
    RETURNING id
    """
let complete = "UPDATE jobs SET state = 'completed', lease = NULL WHERE id = ? AND state = 'running'"

func scratchFile(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-choice-\(UUID())")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.appendingPathComponent(name).path
}

func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

/// Runs `jobs` enqueue-claim-complete cycles from `tasks` concurrent tasks; returns cycles per second.
func measure(_ cycle: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            group.addTask {
                for number in stride(from: task, to: jobs, by: tasks) { try await cycle(number) }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Double(jobs) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}

func grdb() async throws -> Double {
    let path = scratchFile("grdb.sqlite")
    var configuration = Configuration()
    configuration.busyMode = .timeout(5)
    configuration.prepareDatabase { db in
        if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    }
    let pool = try DatabasePool(path: path, configuration: configuration)
    try await pool.write { db in
        try db.execute(sql: schema)
        try db.execute(sql: index)
    }
    let rate = try await measure { number in
        try await pool.write { db in
            try db.cachedStatement(sql: insert).execute(arguments: ["{\"n\":\(number)}", now()])
        }
        let id = try await pool.write { db in
            try Int64.fetchOne(db.cachedStatement(sql: claim), arguments: [now() + 30_000_000])
        }
        if let id {
            try await pool.write { db in try db.cachedStatement(sql: complete).execute(arguments: [id]) }
        }
    }
    try pool.close()
    return rate
}

func sqliteNIO() async throws -> Double {
    let path = scratchFile("sqlite-nio.sqlite")
    let connection = try await SQLiteConnection.open(storage: .file(path: path))
    _ = try await connection.query("PRAGMA journal_mode = WAL", [])
    _ = try await connection.query("PRAGMA synchronous = NORMAL", [])
    _ = try await connection.query(schema, [])
    _ = try await connection.query(index, [])
    let rate = try await measure { number in
        _ = try await connection.query(insert, [.text("{\"n\":\(number)}"), .integer(Int(now()))])
        let rows = try await connection.query(claim, [.integer(Int(now() + 30_000_000))])
        if let id = rows.first?.column("id")?.integer {
            _ = try await connection.query(complete, [.integer(id)])
        }
    }
    try await connection.close()
    return rate
}

var grdbRates: [Double] = []
var nioRates: [Double] = []
for round in 1...rounds {
    let g = try await grdb()
    let n = try await sqliteNIO()
    grdbRates.append(g)
    nioRates.append(n)
    print(String(format: "round %d: GRDB %.0f jobs/s, sqlite-nio %.0f jobs/s", round, g, n))
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
print(
    String(
        format:
            "median of %d rounds, %d jobs, %d tasks: GRDB %.0f jobs/s, sqlite-nio %.0f jobs/s (GRDB/sqlite-nio %.2f)",
        rounds,
        jobs,
        tasks,
        median(grdbRates),
        median(nioRates),
        median(grdbRates) / median(nioRates)
    )
)
