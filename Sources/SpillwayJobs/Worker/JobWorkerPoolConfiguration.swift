import Foundation
import Spillway

extension JobWorkerPool {
    /// How a pool claims, runs, retries and maintains the jobs of its queue. The defaults are the product.
    ///
    /// ```swift
    /// var configuration = JobWorkerPool.Configuration(queue: "emails")
    /// configuration.jobTimeout = .seconds(120)
    /// let workers = JobWorkerPool(store: store, configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// The queue this pool serves. Default `default`.
        public var queue: String
        /// How long a claim holds a job without renewal. Default 30 s: a crashed worker's jobs run again within
        /// about half a minute (River rescues after an hour, graphile-worker unlocks after four), while a healthy
        /// worker renews every ``heartbeatInterval``.
        public var lease: Duration
        /// How often running jobs' leases are renewed. Default 10 s: a third of the lease, so two renewals may fail
        /// (a database hiccup) before a job is lost.
        public var heartbeatInterval: Duration
        /// How often an idle pool looks for jobs when no wake-up came. Default 1 s (wake-ups from enqueues in this
        /// process and PostgreSQL notifications usually come first).
        public var pollInterval: Duration
        /// The most jobs one claim takes. A claim takes the limiter's free permits plus one, and as many more as
        /// the pool's handlers ended since the previous claim (the jobs beyond the free permits wait for the permits
        /// those handlers give back). Default 100: the pool claims only once it has started every job it holds, so
        /// a busy pool of fast jobs starts at most this many per claim round trip (docs/benchmarks.md, round 10).
        public var claimBatchSize: Int
        /// The most completions recorded in one statement. Completions that finish while a batch is being
        /// written go together in the next, so a busy pool pays one commit for many jobs and an idle one waits for
        /// nothing (graphile-worker batches completions the same way). Each job keeps its own fencing check. `1`
        /// records each completion on its own, as its handler returns.
        ///
        /// Default `nil`: the store's measured choice, 100 on SQLite (one writer; batching measured +17 % jobs/s)
        /// and on PostgreSQL (batches measured 1.3–2.2 times the jobs/s of single completions; docs/benchmarks.md,
        /// round 10).
        public var completionBatchSize: Int?
        /// The longest a handler may run; it becomes the handler's `Deadline.current`, and a handler still running
        /// then is cancelled and the attempt fails. `nil` for none. Default 60 s (River's default job timeout).
        public var jobTimeout: Duration?
        /// On graceful shutdown, how long running handlers may take to finish before they are cancelled and their
        /// jobs released. Default 20 s: inside Kubernetes' default 30 s termination grace period.
        public var gracePeriod: Duration
        /// Retries and snoozes.
        public var retry: JobRetryPolicy
        /// How often expired leases of this queue are rescued. Default 5 s.
        public var rescueInterval: Duration
        /// How often completed jobs past their retention are pruned. Default 60 s.
        public var pruneInterval: Duration
        /// How long completed jobs are kept (for status checks). Default 24 h, as River.
        public var completedRetention: Duration
        /// The most jobs one prune deletes (a long delete would hold SQLite's write lock). Default 10 000.
        public var pruneBatchSize: Int
        /// How often the depth gauges are refreshed (one aggregate query over the table). Default 10 s.
        public var statsInterval: Duration
        /// This worker's name in leases and histories. Default `host-pid-random`.
        public var workerID: String

        /// A configuration; every parameter has a documented default.
        public init(
            queue: String = "default",
            lease: Duration = .seconds(30),
            heartbeatInterval: Duration = .seconds(10),
            pollInterval: Duration = .seconds(1),
            claimBatchSize: Int = 100,
            completionBatchSize: Int? = nil,
            jobTimeout: Duration? = .seconds(60),
            gracePeriod: Duration = .seconds(20),
            retry: JobRetryPolicy = JobRetryPolicy(),
            rescueInterval: Duration = .seconds(5),
            pruneInterval: Duration = .seconds(60),
            completedRetention: Duration = .seconds(24 * 3600),
            pruneBatchSize: Int = 10_000,
            statsInterval: Duration = .seconds(10),
            workerID: String = Configuration.defaultWorkerID()
        ) {
            self.queue = queue
            self.lease = lease
            self.heartbeatInterval = heartbeatInterval
            self.pollInterval = pollInterval
            self.claimBatchSize = claimBatchSize
            self.completionBatchSize = completionBatchSize
            self.jobTimeout = jobTimeout
            self.gracePeriod = gracePeriod
            self.retry = retry
            self.rescueInterval = rescueInterval
            self.pruneInterval = pruneInterval
            self.completedRetention = completedRetention
            self.pruneBatchSize = pruneBatchSize
            self.statsInterval = statsInterval
            self.workerID = workerID
        }

        /// `host-pid-xxxx`: unique enough to tell workers apart in a job's history.
        public static func defaultWorkerID() -> String {
            let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
            let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
            return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
        }

        func validate() throws(JobError) {
            try JobOptions.validateName(queue, field: "queue")
            try JobOptions.validateName(workerID, field: "worker id")
            guard lease > .zero, heartbeatInterval > .zero, heartbeatInterval < lease else {
                throw JobError(
                    .invalidArgument,
                    "the heartbeat interval (\(heartbeatInterval)) must be positive and shorter than the lease "
                        + "(\(lease)), or leases expire between renewals"
                )
            }
            guard pollInterval > .zero, rescueInterval > .zero, pruneInterval > .zero, statsInterval > .zero else {
                throw JobError(.invalidArgument, "poll, rescue, prune and statistics intervals must be positive")
            }
            guard claimBatchSize >= 1, (completionBatchSize ?? 1) >= 1, pruneBatchSize >= 1 else {
                throw JobError(.invalidArgument, "claim, completion and prune batch sizes must be at least 1")
            }
            if let jobTimeout, jobTimeout <= .zero {
                throw JobError(.invalidArgument, "the job timeout is \(jobTimeout); use nil for none")
            }
        }
    }
}
