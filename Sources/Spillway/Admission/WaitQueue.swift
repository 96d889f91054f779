import DequeModule

/// The requests waiting for a permit, one deque per priority class.
///
/// Waiters are appended at the back of their class's deque, so the front is always the oldest. FIFO serving pops
/// the front, adaptive LIFO pops the back; higher classes are always served first.
struct WaitQueue<Payload> {
    struct Waiter {
        var id: UInt64
        var priority: Priority
        /// Nanoseconds since the Spillway origin.
        var enqueuedAt: Int64
        var payload: Payload
    }

    private var classes: [Deque<Waiter>] = Array(repeating: [], count: Priority.allCases.count)
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    func count(of priority: Priority) -> Int { classes[priority.rawValue].count }

    mutating func append(_ waiter: Waiter) {
        classes[waiter.priority.rawValue].append(waiter)
        count += 1
    }

    /// Removes and returns the next waiter to serve: the highest non-empty class, oldest first or newest first.
    mutating func popNext(lifo: Bool) -> Waiter? {
        for rank in classes.indices.reversed() where !classes[rank].isEmpty {
            count -= 1
            return lifo ? classes[rank].removeLast() : classes[rank].removeFirst()
        }
        return nil
    }

    /// Removes the waiter with `id` (of class `priority`), if it is still queued.
    mutating func remove(id: UInt64, priority: Priority) -> Waiter? {
        guard let index = classes[priority.rawValue].firstIndex(where: { $0.id == id }) else { return nil }
        count -= 1
        return classes[priority.rawValue].remove(at: index)
    }

    /// Evicts the waiter that would be served last among those of a class strictly lower than `priority`: from the
    /// lowest such class, the newest under FIFO or the oldest under LIFO.
    mutating func evictLowest(below priority: Priority, lifo: Bool) -> Waiter? {
        for rank in 0..<priority.rawValue where !classes[rank].isEmpty {
            count -= 1
            return lifo ? classes[rank].removeFirst() : classes[rank].removeLast()
        }
        return nil
    }

    /// When the longest-waiting waiter of class `priority` entered the queue (ns since the Spillway origin); `nil`
    /// when none of that class waits.
    func oldestEnqueuedAt(of priority: Priority) -> Int64? { classes[priority.rawValue].first?.enqueuedAt }

    /// Removes every waiter of a class for which `isStanding` is true that entered the queue before `cutoff`.
    mutating func removeOlder(
        than cutoff: Int64,
        where isStanding: (Priority) -> Bool,
        into removed: inout [Waiter]
    ) {
        for priority in Priority.lowestFirst where isStanding(priority) {
            let rank = priority.rawValue
            while let first = classes[rank].first, first.enqueuedAt < cutoff {
                removed.append(classes[rank].removeFirst())
                count -= 1
            }
        }
    }

    /// Removes every waiter for which `isDue` is true, keeping the others in order.
    mutating func removeAll(where isDue: (Waiter) -> Bool, into removed: inout [Waiter]) {
        for rank in classes.indices where classes[rank].contains(where: isDue) {
            var kept = Deque<Waiter>()
            kept.reserveCapacity(classes[rank].count)
            for waiter in classes[rank] {
                if isDue(waiter) {
                    removed.append(waiter)
                    count -= 1
                } else {
                    kept.append(waiter)
                }
            }
            classes[rank] = kept
        }
    }

    /// The smallest `key` among the waiters that have one.
    func minimum(of key: (Waiter) -> Int64?) -> Int64? {
        var lowest: Int64?
        for rank in classes.indices {
            for waiter in classes[rank] {
                if let value = key(waiter), value < lowest ?? .max { lowest = value }
            }
        }
        return lowest
    }

    /// The number of waiters that would be served before a new arrival of class `priority`: every waiter of a
    /// higher class, plus those of its own class under FIFO.
    func ahead(of priority: Priority, lifo: Bool) -> Int {
        var total = 0
        for rank in classes.indices where rank > priority.rawValue || (rank == priority.rawValue && !lifo) {
            total += classes[rank].count
        }
        return total
    }

    mutating func removeAll() -> [Waiter] {
        var all: [Waiter] = []
        all.reserveCapacity(count)
        for rank in classes.indices {
            all.append(contentsOf: classes[rank])
            classes[rank].removeAll()
        }
        count = 0
        return all
    }
}
