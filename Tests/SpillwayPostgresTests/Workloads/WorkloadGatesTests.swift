import Spillway
import Testing

@testable import SpillwayPostgres

@Suite("Workload gates")
struct WorkloadGatesTests {
    typealias Workload = ProtectedPostgresClient.Workload

    func gates(
        pool: Int,
        isolates: Bool = true,
        share: Double = 0.75,
        algorithm: any LimitAlgorithm = FixedLimit(200),
        clock: ManualClock = ManualClock()
    ) -> WorkloadGates {
        var configuration = ConcurrencyLimiter.Configuration(name: "db", algorithm: algorithm)
        configuration.queue.maxLength = 0
        return WorkloadGates(
            configuration: configuration,
            poolSize: pool,
            isolates: isolates,
            share: share,
            clock: clock
        )
    }

    /// Runs `body` while holding `count` permits of `gate` (permits are non-copyable: no array holds them).
    func holding(_ count: Int, of gate: ConcurrencyLimiter, _ body: () throws -> Void) throws {
        guard count > 0 else { return try body() }
        let permit = try gate.tryAcquire(deadline: nil)
        try holding(count - 1, of: gate, body)
        permit.release(.ignored)
    }

    @Test("a class holding its whole share leaves the other class's permits free")
    func bulkhead() throws {
        let gates = gates(pool: 8)
        try holding(6, of: gates.gate(for: .writes)) {
            let refused = #expect(throws: AdmissionRejection.self) {
                _ = try gates.gate(for: .writes).tryAcquire(deadline: nil)
            }
            #expect(refused?.reason == .queueFull, "writes hold their share, 6 of the pool's 8")
            try holding(6, of: gates.gate(for: .reads)) {
                #expect(gates.snapshots[.writes]?.inflight == 6)
                #expect(gates.snapshots[.reads]?.inflight == 6)
            }
        }
        #expect(gates.gate(for: .reads).configuration.name == "db.reads")
        #expect(gates.gate(for: .reads) === gates.gate(for: Workload("reads")), "one gate per name")
        #expect(gates.gate(for: Workload("reports")) !== gates.gate(for: .reads))
    }

    @Test("with isolation off, every class takes its permits from one gate capped at the pool")
    func shared() throws {
        let gates = gates(pool: 4, isolates: false)
        try holding(4, of: gates.gate(for: .writes)) {
            let refused = #expect(throws: AdmissionRejection.self) {
                _ = try gates.gate(for: .reads).tryAcquire(deadline: nil)
            }
            #expect(refused?.reason == .queueFull, "the writes took the shared gate's every permit")
        }
        #expect(gates.gate(for: .reads) === gates.gate(for: .writes))
        #expect(gates.gate(for: .reads).configuration.name == "db")
    }

    @Test("a share outside 0…1 or NaN is clamped, and a class always gets at least one connection")
    func shareBounds() {
        #expect(gates(pool: 10, share: 0.5).capacityPerGate == 5)
        #expect(gates(pool: 10, share: 7).capacityPerGate == 10)
        #expect(gates(pool: 10, share: -1).capacityPerGate == 1)
        #expect(gates(pool: 10, share: .nan).capacityPerGate == 10)
        #expect(gates(pool: 1, share: 0.75).capacityPerGate == 1)
        #expect(gates(pool: 0, share: 0.75).capacityPerGate == 1)
        #expect(gates(pool: 100).gate(for: .reads).snapshot.limit <= 75)
    }

    @Test("slow, dropped writes lower the writes' limit only")
    func independentLimits() throws {
        let clock = ManualClock()
        let aimd = AIMDLimit(configuration: .init(initialLimit: 20, minLimit: 1, maxLimit: 50))
        let gates = gates(pool: 100, algorithm: aimd, clock: clock)
        let (reads, writes) = (gates.gate(for: .reads), gates.gate(for: .writes))
        for _ in 0..<10 {
            let read = try reads.tryAcquire(deadline: nil)
            let write = try writes.tryAcquire(deadline: nil)
            clock.advance(by: .milliseconds(2))
            read.release(.success)
            write.release(.dropped)
        }
        #expect(writes.snapshot.limit < 20, "dropped writes back off")
        #expect(reads.snapshot.limit >= 20, "reads keep their limit")
    }

    @Test("without a named class, a plain SELECT reads and everything else writes")
    func classification() {
        #expect(Workload.of("SELECT id FROM items WHERE id = $1") == .reads)
        #expect(Workload.of("  select 1") == .reads)
        #expect(Workload.of("SELECT id FROM items WHERE id = 1 FOR UPDATE") == .writes)
        #expect(Workload.of("select id from items for share") == .writes)
        #expect(Workload.of("UPDATE items SET n = n + 1") == .writes)
        #expect(Workload.of("WITH moved AS (DELETE FROM a RETURNING *) SELECT * FROM moved") == .writes)
        #expect(Workload.of("") == .writes)
    }
}
