import Spillway
import Testing

@testable import SpillwayPostgres

@Suite("Pool-capped limit")
struct PoolCappedLimitTests {
    @Test("the wrapped algorithm's limit and bounds never exceed the pool, and stay its own below it")
    func caps() {
        var capped = PoolCappedLimit(AIMDLimit(), cap: 10)
        #expect(capped.maxLimit == 10)
        #expect(capped.limit <= 10)
        let sample = LimitSample(startOffset: .zero, rtt: .milliseconds(1), inflight: 10, didDrop: false)
        for _ in 0..<500 { #expect(capped.update(with: sample) <= 10) }
        var roomy = PoolCappedLimit(FixedLimit(4), cap: 100)
        #expect(roomy.limit == 4)
        #expect(roomy.update(with: sample) == 4)
        #expect(PoolCappedLimit(FixedLimit(4), cap: 0).maxLimit == 1, "a pool of zero still admits one call")
    }
}
