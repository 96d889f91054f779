import Spillway

/// One experiment, fully resolved: the victim, the traffic, the trigger and what the victim is told to do when.
///
/// A ``ScenarioDefinition`` builds a scenario from its typed settings; every arm of the experiment runs the same
/// scenario (same victim parameters, same arrival instants) one after another.
package struct Scenario: Sendable {
    /// Something the scenario does to the victim at a fixed offset.
    package struct Event: Sendable, Hashable {
        /// When, from the start of the run.
        package var offset: Duration
        /// What.
        package var action: VictimAction

        /// An event.
        package init(offset: Duration, action: VictimAction) {
            self.offset = offset
            self.action = action
        }
    }

    /// The scenario's name (`spike`, `capacity-drop`, …).
    package var name: String
    /// One sentence saying what happens.
    package var summary: String
    /// The victim's parameters.
    package var victim: VictimConfiguration
    /// The rate of new logical requests over the run.
    package var profile: RateProfile
    /// How arrivals are spread.
    package var arrivals: ArrivalProcess
    /// The traffic mix.
    package var streams: [TrafficStream]
    /// Seed of the arrival times.
    package var seed: UInt64
    /// When the trigger (spike, capacity drop, outage) starts.
    package var triggerStart: Duration
    /// When it ends.
    package var triggerEnd: Duration
    /// The victim's capacity during the trigger, in requests per second.
    package var capacityDuringTrigger: Double
    /// The streams whose goodput the trigger ratio is about (`nil`: all). In `dependency-outage` only the traffic
    /// that does not need the dependency can succeed during the outage.
    package var triggerFocus: [Int]?
    /// Changes to the victim during the run.
    package var events: [Event]
    /// The parameter values in force, as the report prints them (key, value). For display only: a scenario's
    /// runner reads its typed settings, never these.
    package var settings: [(key: String, value: String)]
    /// Routes the scenario adds to the victim (none for the built-in scenarios).
    var routes: [VictimRoute] = []

    /// The end of the observation window: the run's last stretch, one client deadline long, only lets requests
    /// offered before it finish, so every request in the window has a known fate.
    package var observationEnd: Duration {
        profile.duration - tail
    }

    /// The longest client deadline: how long after the observation window the run continues.
    package var tail: Duration {
        streams.map(\.deadline).max() ?? .zero
    }

    /// The victim's normal capacity, in requests per second.
    package var capacity: Double { victim.capacity }

    /// A scenario; throws when the trigger is not inside the observation window.
    package init(
        name: String,
        summary: String,
        victim: VictimConfiguration,
        profile: RateProfile,
        arrivals: ArrivalProcess,
        streams: [TrafficStream],
        seed: UInt64,
        triggerStart: Duration,
        triggerEnd: Duration,
        capacityDuringTrigger: Double,
        triggerFocus: [Int]? = nil,
        events: [Event] = [],
        settings: [(key: String, value: String)] = []
    ) throws(LabError) {
        self.name = name
        self.summary = summary
        self.victim = victim
        self.profile = profile
        self.arrivals = arrivals
        self.streams = streams
        self.seed = seed
        self.triggerStart = triggerStart
        self.triggerEnd = triggerEnd
        self.capacityDuringTrigger = capacityDuringTrigger
        self.triggerFocus = triggerFocus
        self.events = events
        self.settings = settings
        guard triggerStart > .zero, triggerStart < triggerEnd, triggerEnd < observationEnd else {
            throw LabError(
                .invalidArgument,
                "scenario \(name): the trigger "
                    + "(\(triggerStart.compactDescription)–\(triggerEnd.compactDescription)) must lie "
                    + "inside the observation window (0–\(observationEnd.compactDescription))"
            )
        }
        guard !streams.isEmpty else { throw LabError(.invalidArgument, "scenario \(name) has no traffic") }
    }
}

/// A change a scenario makes to the victim while the run goes on.
package enum VictimAction: Sendable, Hashable, CustomStringConvertible {
    /// Set how long each request holds a slot.
    case setServiceTime(Duration)
    /// Switch the dependency's behaviour.
    case setDependency(DependencyMode)

    package var description: String {
        switch self {
        case .setServiceTime(let duration): "service time → \(duration.compactDescription)"
        case .setDependency(let mode): "dependency → \(mode.rawValue)"
        }
    }
}
