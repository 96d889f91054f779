/// One value per ``Priority`` class, stored inline: CoDel's per-class state lives in the limiter's locked state and
/// is read on every queued admission, so it allocates nothing and copies as four words. The switches are
/// exhaustive: a new class does not compile until it has its own value.
struct PerClass<Value: Sendable>: Sendable {
    private var sheddable, sheddablePlus, critical, criticalPlus: Value

    /// Every class at `value`.
    init(_ value: Value) {
        sheddable = value
        sheddablePlus = value
        critical = value
        criticalPlus = value
    }

    subscript(priority: Priority) -> Value {
        get {
            switch priority {
            case .sheddable: sheddable
            case .sheddablePlus: sheddablePlus
            case .critical: critical
            case .criticalPlus: criticalPlus
            }
        }
        set {
            switch priority {
            case .sheddable: sheddable = newValue
            case .sheddablePlus: sheddablePlus = newValue
            case .critical: critical = newValue
            case .criticalPlus: criticalPlus = newValue
            }
        }
    }
}

extension Priority {
    /// Every class, lowest first, built once (`allCases` builds a new array at each use; this is read under the
    /// limiter's lock on every queued admission).
    static let lowestFirst: [Priority] = allCases
}
