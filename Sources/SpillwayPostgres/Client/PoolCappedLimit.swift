import Spillway

/// Any limit algorithm, never above the pool's size: a call the gate admits always finds a connection, so excess
/// calls wait in the gate's queue (priorities, deadlines, CoDel) instead of the pool's plain first-come queue.
///
/// The wrapped algorithm's own arithmetic is untouched; only its output is capped, so this works with whatever the
/// library's default algorithm is.
struct PoolCappedLimit: LimitAlgorithm {
    var base: any LimitAlgorithm
    let cap: Int

    init(_ base: any LimitAlgorithm, cap: Int) {
        self.base = base
        self.cap = max(1, cap)
    }

    var limit: Int { min(base.limit, cap) }
    var minLimit: Int { min(base.minLimit, cap) }
    var maxLimit: Int { min(base.maxLimit, cap) }

    mutating func update(with sample: LimitSample) -> Int {
        min(base.update(with: sample), cap)
    }

    mutating func update(withUnmeasured sample: LimitSample) -> Int {
        min(base.update(withUnmeasured: sample), cap)
    }
}
