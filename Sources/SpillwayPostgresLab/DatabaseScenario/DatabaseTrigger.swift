/// What happens to the database at the trigger.
package enum DatabaseTrigger: String, Sendable, Hashable {
    /// Another session holds every hot row's lock for the trigger's length.
    case lock
    /// The offered load rises by the scenario's factor.
    case spike
}
