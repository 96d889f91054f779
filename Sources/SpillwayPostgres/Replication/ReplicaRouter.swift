/// The routing state of a ``ReplicatedPostgresClient``: the primary's recent positions, each replica's status, and
/// the choice of where a read goes. A value type, so every rule is tested without servers or time.
struct ReplicaRouter: Sendable {
    enum Choice: Equatable, Sendable {
        /// Read on replica `index`; `check` asks the replica itself first whether it replayed the session's write.
        case replica(index: Int, check: Bool)
        case primary(ReplicatedPostgresClient.ReadRoute)
    }

    private(set) var statuses: [ReplicatedPostgresClient.ReplicaStatus]
    private(set) var history = PrimaryPositionHistory()
    private let maximumLag: Duration
    private var nextReplica = 0

    init(replicas: Int, maximumLag: Duration) {
        self.statuses = Array(
            repeating: .init(isAvailable: false, replayed: nil, lag: nil, bytesBehind: nil, problem: "not probed yet"),
            count: replicas
        )
        self.maximumLag = maximumLag
    }

    /// Where a read of a session whose last write is `lastWrite` goes.
    mutating func choose(lastWrite: LogSequenceNumber?) -> Choice {
        guard !statuses.isEmpty else { return .primary(.primaryNoReplica) }
        let available = statuses.indices.filter { statuses[$0].isAvailable }
        guard !available.isEmpty else { return .primary(.primaryReplicaUnavailable) }
        let fresh = available.filter { index in statuses[index].lag.map { $0 <= maximumLag } ?? false }
        guard !fresh.isEmpty else { return .primary(.primaryReplicaLagging) }
        guard let lastWrite else { return .replica(index: pick(fresh), check: false) }
        let caughtUp = fresh.filter { index in statuses[index].replayed.map { $0 >= lastWrite } ?? false }
        if !caughtUp.isEmpty { return .replica(index: pick(caughtUp), check: false) }
        return .replica(index: pick(fresh), check: true)
    }

    /// Round robin over `candidates`.
    private mutating func pick(_ candidates: [Int]) -> Int {
        nextReplica &+= 1
        return candidates[Int(UInt(bitPattern: nextReplica) % UInt(candidates.count))]
    }

    /// Records a probe of the primary.
    mutating func primaryProbed(_ position: LogSequenceNumber, atNanoseconds now: Int64) {
        history.record(position, atNanoseconds: now)
    }

    /// Records a successful probe of replica `index`: it had replayed up to `replayed`.
    mutating func replicaProbed(_ index: Int, replayed: LogSequenceNumber, atNanoseconds now: Int64) {
        statuses[index] = .init(
            isAvailable: true,
            replayed: replayed,
            lag: history.lag(ofReplayed: replayed, atNanoseconds: now),
            bytesBehind: history.bytesBehind(replayed: replayed),
            problem: nil
        )
    }

    /// Records a position seen on replica `index` outside the probes (a read's own check); it only moves forward.
    mutating func replicaReplayed(_ index: Int, _ replayed: LogSequenceNumber) {
        if let known = statuses[index].replayed, known >= replayed { return }
        statuses[index].replayed = replayed
    }

    /// Marks replica `index` unavailable until its next successful probe.
    mutating func replicaFailed(_ index: Int, problem: String) {
        statuses[index].isAvailable = false
        statuses[index].problem = problem
    }
}
