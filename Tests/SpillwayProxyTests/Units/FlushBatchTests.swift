import NIOCore
import NIOEmbedded
import Testing

@testable import SpillwayProxy

@Suite("FlushBatch: flushes wait for the end of the loop's batch")
struct FlushBatchTests {
    private final class Recorder: DeferredFlush {
        let name: String
        let log: Log
        init(_ name: String, _ log: Log) {
            self.name = name
            self.log = log
        }
        func flushDeferred() { log.entries.append(name) }
    }

    private final class Log {
        var entries: [String] = []
    }

    @Test func flushesRunOnceEachInOrderAfterTheCurrentWork() {
        let loop = EmbeddedEventLoop()
        let batch = FlushBatch(eventLoop: loop)
        let log = Log()
        let first = Recorder("first", log)
        let second = Recorder("second", log)
        batch.add(first)
        batch.add(second)
        #expect(log.entries.isEmpty)
        loop.run()
        #expect(log.entries == ["first", "second"])
        // A later batch is scheduled again.
        batch.add(second)
        loop.run()
        #expect(log.entries == ["first", "second", "second"])
    }

    @Test func aFlushAskedForDuringTheRunIsNotLost() {
        let loop = EmbeddedEventLoop()
        let batch = FlushBatch(eventLoop: loop)
        let log = Log()
        final class Chaining: DeferredFlush {
            let batch: FlushBatch
            let next: DeferredFlush
            let log: Log
            init(_ batch: FlushBatch, _ next: DeferredFlush, _ log: Log) {
                self.batch = batch
                self.next = next
                self.log = log
            }
            func flushDeferred() {
                log.entries.append("chaining")
                batch.add(next)
            }
        }
        batch.add(Chaining(batch, Recorder("next", log), log))
        loop.run()
        #expect(log.entries == ["chaining", "next"])
    }
}
