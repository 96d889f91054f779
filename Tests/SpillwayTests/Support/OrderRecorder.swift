import Synchronization

/// A thread-safe list that tests append to from several tasks.
final class OrderRecorder: Sendable {
    private let storage = Mutex<[Int]>([])
    func append(_ value: Int) { storage.withLock { $0.append(value) } }
    var values: [Int] { storage.withLock { $0 } }
}
