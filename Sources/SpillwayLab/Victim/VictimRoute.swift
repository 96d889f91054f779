import HTTPTypes
import Hummingbird

/// A route a scenario adds to the victim, beside `/work`, `/dependent` and `/ping` — the extension point for
/// scenarios that need their own kind of request (a cached read, a hot key).
///
/// The handler receives the request and a ``VictimWork`` that holds one of the bottleneck's slots for the service
/// time, recorded like the built-in routes' work (including wasted work). Extra routes sit behind the arm's
/// protection, as the built-in ones do.
struct VictimRoute: Sendable {
    /// The path, as Hummingbird routes it (`cached/:key`).
    var path: String
    /// Answers one request.
    var handle: @Sendable (Request, VictimWork) async -> HTTPResponse.Status
}

/// The victim's bottleneck as an extra route's handler sees it.
struct VictimWork: Sendable {
    let hold: @Sendable () async -> Bool

    /// Waits for a slot and holds it for the service time; `false` when the victim stopped first.
    func holdSlot() async -> Bool {
        await hold()
    }
}
