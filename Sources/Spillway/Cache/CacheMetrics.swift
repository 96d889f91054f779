import CoreMetrics

/// The swift-metrics instruments of one ``Cache``, created once so that the hot path only records.
///
/// Every label carries the dimension `cache` = the configured name:
/// - `spillway_cache_hits_total`: reads answered from a fresh entry (values and cached errors);
/// - `spillway_cache_misses_total`: reads that had to wait for a load;
/// - `spillway_cache_stale_served_total`, dimension `reason` = `revalidate` (within stale-while-revalidate) or
///   `error` (a failed load, within stale-if-error);
/// - `spillway_cache_coalesced_total`: misses that joined a load already in flight instead of starting one;
/// - `spillway_cache_loads_total`, `spillway_cache_load_errors_total`: loader calls and the ones that threw;
/// - `spillway_cache_early_refreshes_total`: background refreshes started by XFetch before expiry;
/// - `spillway_cache_evictions_total`, dimension `reason` = `capacity` or `expired`;
/// - `spillway_cache_shared_tier_errors_total`: shared-tier operations that failed (the cache went on without it);
/// - `spillway_cache_entries` gauge; `spillway_cache_load_duration_seconds` timer.
@usableFromInline
struct CacheMetrics: Sendable {
    static let hitsLabel = "spillway_cache_hits_total"
    static let missesLabel = "spillway_cache_misses_total"
    static let staleServedLabel = "spillway_cache_stale_served_total"
    static let coalescedLabel = "spillway_cache_coalesced_total"
    static let loadsLabel = "spillway_cache_loads_total"
    static let loadErrorsLabel = "spillway_cache_load_errors_total"
    static let earlyRefreshesLabel = "spillway_cache_early_refreshes_total"
    static let evictionsLabel = "spillway_cache_evictions_total"
    static let sharedTierErrorsLabel = "spillway_cache_shared_tier_errors_total"
    static let entriesLabel = "spillway_cache_entries"
    static let loadDurationLabel = "spillway_cache_load_duration_seconds"

    @usableFromInline let hits: Counter
    let misses: Counter
    @usableFromInline let staleRevalidate: Counter
    let staleOnError: Counter
    let coalesced: Counter
    let loads: Counter
    let loadErrors: Counter
    @usableFromInline let earlyRefreshes: Counter
    let capacityEvictions: Counter
    let expiredEvictions: Counter
    let sharedTierErrors: Counter
    let entries: Gauge
    let loadDuration: CoreMetrics.Timer

    init(name: String, factory: any MetricsFactory) {
        let base = [("cache", name)]
        func counter(_ label: String, _ extra: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: base + extra, factory: factory)
        }
        hits = counter(Self.hitsLabel)
        misses = counter(Self.missesLabel)
        staleRevalidate = counter(Self.staleServedLabel, [("reason", "revalidate")])
        staleOnError = counter(Self.staleServedLabel, [("reason", "error")])
        coalesced = counter(Self.coalescedLabel)
        loads = counter(Self.loadsLabel)
        loadErrors = counter(Self.loadErrorsLabel)
        earlyRefreshes = counter(Self.earlyRefreshesLabel)
        capacityEvictions = counter(Self.evictionsLabel, [("reason", "capacity")])
        expiredEvictions = counter(Self.evictionsLabel, [("reason", "expired")])
        sharedTierErrors = counter(Self.sharedTierErrorsLabel)
        entries = Gauge(label: Self.entriesLabel, dimensions: base, factory: factory)
        loadDuration = .seconds(Self.loadDurationLabel, dimensions: base, factory: factory)
    }
}
