/// A binary min-heap of events ordered by their key (a time, or a time and a tie-breaking sequence number): the
/// pending events of a discrete-event simulation.
struct EventHeap<Key: Comparable, Element> {
    private var keys: [Key] = []
    private var elements: [Element] = []

    /// The earliest key, if any.
    var firstKey: Key? { keys.first }
    var isEmpty: Bool { keys.isEmpty }

    mutating func push(_ element: Element, at key: Key) {
        keys.append(key)
        elements.append(element)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the element with the earliest key.
    mutating func pop() -> (key: Key, element: Element)? {
        guard !keys.isEmpty else { return nil }
        swapAt(0, keys.count - 1)
        let top = (keys.removeLast(), elements.removeLast())
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < keys.count && keys[left] < keys[first] { first = left }
            if right < keys.count && keys[right] < keys[first] { first = right }
            if first == parent { break }
            swapAt(parent, first)
            parent = first
        }
        return top
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        keys.swapAt(i, j)
        elements.swapAt(i, j)
    }
}
