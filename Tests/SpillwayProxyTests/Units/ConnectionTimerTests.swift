import NIOCore
import NIOEmbedded
import Testing

@testable import SpillwayProxy

/// The connection's timeouts on one NIO task, on the embedded event loop's virtual time.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionTimerTests {
    /// A timer on an embedded loop and the slots it reported, in order.
    final class Harness {
        let loop = EmbeddedEventLoop()
        let timer: ConnectionTimer
        var expired: [ConnectionTimer.Slot] = []

        init() {
            timer = ConnectionTimer(eventLoop: loop)
            timer.onExpiry = { [unowned self] slot in self.expired.append(slot) }
        }

        func advance(_ milliseconds: Int64) {
            loop.advanceTime(by: .milliseconds(milliseconds))
        }
    }

    @Test func aSlotExpiresAtItsDeadlineAndNotBefore() {
        let harness = Harness()
        harness.timer.arm(.header, in: .milliseconds(100))
        harness.advance(99)
        #expect(harness.expired.isEmpty)
        harness.advance(1)
        #expect(harness.expired == [.header])
        #expect(!harness.timer.isArmed(.header))
        harness.advance(1_000)
        #expect(harness.expired == [.header], "once")
    }

    @Test func aDisarmedSlotNeverFiresAndTheOthersStillDo() {
        let harness = Harness()
        harness.timer.arm(.header, in: .milliseconds(100))
        harness.timer.arm(.idle, in: .milliseconds(300))
        harness.timer.disarm(.header)
        harness.advance(200)
        #expect(harness.expired.isEmpty)
        harness.advance(100)
        #expect(harness.expired == [.idle])
    }

    /// The point of the type: back-to-back requests re-arm later deadlines without scheduling a task each time.
    @Test func laterDeadlinesReuseTheScheduledTaskAndAnEarlierOneMovesIt() {
        let harness = Harness()
        let timer = harness.timer
        timer.arm(.idle, in: .seconds(60))
        #expect(timer.tasksScheduled == 1)
        for _ in 0..<100 {
            timer.arm(.header, in: .seconds(10))
            harness.advance(1)
            timer.disarm(.header)
            timer.arm(.response, in: .seconds(30))
            harness.advance(1)
            timer.disarm(.response)
            timer.arm(.idle, in: .seconds(60))
        }
        // The first header deadline moved the task earlier once; nothing after it did.
        #expect(timer.tasksScheduled == 2)
        // A short deadline (a client's small budget) moves the task and is met on time.
        timer.arm(.response, in: .milliseconds(50))
        #expect(timer.tasksScheduled == 3)
        harness.advance(49)
        #expect(harness.expired.isEmpty)
        harness.advance(1)
        #expect(harness.expired == [.response])
        // The idle deadline armed last still fires 60 s after it was armed.
        harness.advance(59_949)
        #expect(harness.expired == [.response])
        harness.advance(1)
        #expect(harness.expired == [.response, .idle])
    }

    @Test func reArmingLaterPostponesTheExpiry() {
        let harness = Harness()
        harness.timer.arm(.stall, in: .milliseconds(100))
        harness.advance(80)
        harness.timer.arm(.stall, in: .milliseconds(100))
        harness.advance(20)
        #expect(harness.expired.isEmpty, "the first deadline was replaced")
        harness.advance(80)
        #expect(harness.expired == [.stall])
    }

    @Test func slotsDueTogetherExpireInOneFiringAndAnExpiryMayArmAgain() {
        let harness = Harness()
        let timer = harness.timer
        timer.onExpiry = { [unowned harness] slot in
            harness.expired.append(slot)
            if slot == .stall, harness.expired.count < 3 { timer.arm(.stall, in: .milliseconds(10)) }
        }
        timer.arm(.body, in: .milliseconds(50))
        timer.arm(.stall, in: .milliseconds(50))
        harness.advance(50)
        #expect(harness.expired == [.stall, .body])
        harness.advance(10)
        #expect(harness.expired == [.stall, .body, .stall])
        harness.advance(100)
        #expect(harness.expired == [.stall, .body, .stall])
    }

    @Test func nothingFiresAfterStop() {
        let harness = Harness()
        harness.timer.arm(.idle, in: .milliseconds(10))
        harness.timer.stop()
        harness.timer.arm(.header, in: .milliseconds(5))
        harness.advance(100)
        #expect(harness.expired.isEmpty)
        #expect(!harness.timer.isArmed(.header))
    }

    /// The scheduled task holds its timer strongly (no side table on the hot path); stopping, which every connection
    /// does as it closes, must let go of it.
    @Test func stopLetsGoOfTheTimer() {
        let loop = EmbeddedEventLoop()
        weak var released: ConnectionTimer?
        do {
            let timer = ConnectionTimer(eventLoop: loop)
            released = timer
            timer.arm(.idle, in: .seconds(60))
            timer.arm(.header, in: .seconds(10))
        }
        #expect(released != nil, "an armed timer is held by its task")
        released?.stop()
        #expect(released == nil)
    }

    /// A timer whose task has run and found nothing armed is held by nothing.
    @Test func aTimerWithNothingArmedIsNotHeld() {
        let loop = EmbeddedEventLoop()
        weak var released: ConnectionTimer?
        do {
            let timer = ConnectionTimer(eventLoop: loop)
            released = timer
            timer.arm(.header, in: .milliseconds(10))
            timer.disarm(.header)
        }
        loop.advanceTime(by: .milliseconds(10))
        #expect(released == nil)
    }
}
