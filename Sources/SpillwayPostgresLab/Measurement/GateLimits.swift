import SpillwayPostgres

extension ProtectedPostgresClient.Snapshot {
    /// The most statements the client's gates admit at once now: the sum of every workload gate's limit.
    var totalLimit: Int {
        gates.values.reduce(0) { $0 + $1.limit }
    }

    /// Each gate's limit now, for a report (`reads 18, writes 4`).
    var limitsDescription: String {
        gates.sorted { $0.key.name < $1.key.name }.map { "\($0.key.name) \($0.value.limit)" }.joined(separator: ", ")
    }
}
