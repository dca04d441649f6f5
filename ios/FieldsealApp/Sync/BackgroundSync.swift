import BackgroundTasks
import FieldsealFFI
import Foundation
import Network
import os

/// 后台同步 — the BGTaskScheduler side of sync, the iOS twin of android's `SyncWorker`. Every
/// decision is the core's: `SyncEngine.backgroundPass` runs one pass bounded by its budget under
/// the network iOS reports and answers whether more work remains, when to run next and whether
/// that needs an unmetered network. This type only turns the answer into the next request, so a
/// send never silently stalls until someone taps "resume".
///
/// Two tasks, both listed under `BGTaskSchedulerPermittedIdentifiers` in Info.plist:
/// - an app refresh (`BGAppRefreshTask`, about 30 s of time): `backgroundPass` with a budget that
///   ends well inside that window, so the pass finishes on its own before the system expires it;
/// - a processing task (`BGProcessingTask`, minutes, network required) for a backlog or a video:
///   its window is not known in advance, so it runs the cancellable `syncNow` and the expiration
///   handler cancels it (an awaiting Swift task cannot cancel a UniFFI future). What was sent is
///   kept either way; the rest resumes from the server's offset at the next pass.
///
/// Call `register(engine:)` from `application(_:didFinishLaunchingWithOptions:)`, before launch
/// ends, as BGTaskScheduler requires.
final class BackgroundSync: @unchecked Sendable {
    static let refreshIdentifier = "cn.fieldseal.sync.refresh"
    static let processingIdentifier = "cn.fieldseal.sync.processing"

    /// Ends well inside an app refresh's ~30 s.
    static let refreshBudgetMs: UInt64 = 20_000
    /// A processing task's pass; the expiration handler cancels it sooner if iOS asks.
    static let processingBudgetMs: UInt64 = 8 * 60 * 1_000
    /// Items above this wait for Wi-Fi on mobile data (the core's default, 50 MiB).
    static let meteredLimitBytes: UInt64 = 50 << 20

    static let shared = BackgroundSync()

    private let log = Logger(subsystem: "cn.fieldseal.app", category: "sync")
    private let network = NetworkWatch()
    private var engine: (@Sendable () throws -> SyncEngine)?

    /// Registers both launch handlers and asks for the first run.
    func register(engine: @escaping @Sendable () throws -> SyncEngine) {
        self.engine = engine
        network.start()
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.refreshIdentifier, using: nil) { task in
            guard let refresh = task as? BGAppRefreshTask else { return task.setTaskCompleted(success: false) }
            self.handleRefresh(refresh)
        }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.processingIdentifier, using: nil) { task in
            guard let processing = task as? BGProcessingTask else { return task.setTaskCompleted(success: false) }
            self.handleProcessing(processing)
        }
        scheduleRefresh(after: nil)
    }

    /// Asks for a pass soon (after a capture or a tap on "sync now" while the app goes away).
    func runSoon() {
        scheduleProcessing(after: 0, needsUnmetered: false)
    }

    private func handleRefresh(_ task: BGAppRefreshTask) {
        // The safety net: always ask for the next refresh first, whatever this pass does.
        scheduleRefresh(after: nil)
        let work = _Concurrency.Task {
            do {
                let engine = try self.currentEngine()
                let policy = await self.network.policy(meteredLimitBytes: Self.meteredLimitBytes)
                let outcome = try await engine.backgroundPass(network: policy, budgetMs: Self.refreshBudgetMs)
                self.follow(outcome)
                task.setTaskCompleted(success: true)
            } catch {
                self.log.error("background sync pass failed: \(String(describing: error), privacy: .public)")
                task.setTaskCompleted(success: false)
            }
        }
        // The pass ends inside its budget; if iOS expires the task earlier the process may be
        // suspended mid-request, which the outbox survives (each step is its own transaction).
        task.expirationHandler = { work.cancel() }
    }

    private func handleProcessing(_ task: BGProcessingTask) {
        let cancel = CancelHandle()
        task.expirationHandler = { cancel.cancel() }
        _Concurrency.Task {
            do {
                let engine = try self.currentEngine()
                let policy = await self.network.policy(meteredLimitBytes: Self.meteredLimitBytes)
                let outcome = try await engine.syncNow(network: policy, cancel: cancel, budgetMs: Self.processingBudgetMs)
                self.follow(outcome)
                task.setTaskCompleted(success: outcome.ended != .cancelled)
            } catch {
                self.log.error("background sync pass failed: \(String(describing: error), privacy: .public)")
                task.setTaskCompleted(success: false)
            }
        }
    }

    private func currentEngine() throws -> SyncEngine {
        guard let engine else { throw BackgroundSyncError.notRegistered }
        return try engine()
    }

    /// The core's answer turned into the next request. No time given means only a network change
    /// helps: the processing request requires connectivity, so iOS starts it when one appears.
    private func follow(_ outcome: SyncOutcome) {
        guard outcome.moreWork else { return }
        let after = outcome.runAgainInMs.map { TimeInterval($0) / 1_000 }
        scheduleProcessing(after: after ?? 0, needsUnmetered: outcome.needsUnmetered)
    }

    private func scheduleRefresh(after delay: TimeInterval?) {
        let request = BGAppRefreshTaskRequest(identifier: Self.refreshIdentifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: delay ?? 30 * 60)
        submit(request)
    }

    private func scheduleProcessing(after delay: TimeInterval, needsUnmetered: Bool) {
        let request = BGProcessingTaskRequest(identifier: Self.processingIdentifier)
        request.requiresNetworkConnectivity = true
        // iOS cannot require Wi-Fi for a task. Large video waits for an unmetered network in the
        // core's policy anyway; asking for power too makes iOS pick a time the phone is usually
        // charging on Wi-Fi instead of waking it for a pass that would hold the video back.
        request.requiresExternalPower = needsUnmetered
        request.earliestBeginDate = Date(timeIntervalSinceNow: delay)
        submit(request)
    }

    private func submit(_ request: BGTaskRequest) {
        do {
            // Submitting again replaces the pending request of the same identifier.
            try BGTaskScheduler.shared.submit(request)
        } catch {
            // Simulator, Background App Refresh turned off, or too many pending requests: the
            // foreground "sync now" still works; the upload screen shows what is pending.
            log.notice("could not schedule \(request.identifier, privacy: .public): \(String(describing: error), privacy: .public)")
        }
    }
}

enum BackgroundSyncError: Error {
    case notRegistered
}

/// What iOS says about the current path, as the core's network policy wants it.
final class NetworkWatch: @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "cn.fieldseal.network")
    private let lock = NSLock()
    private var path: NWPath?

    func start() {
        monitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            self.lock.lock()
            self.path = path
            self.lock.unlock()
        }
        monitor.start(queue: queue)
    }

    /// The policy for the current path; waits briefly for the monitor's first answer after launch.
    func policy(meteredLimitBytes: UInt64) async -> NetworkPolicy {
        for _ in 0..<20 where current() == nil {
            try? await _Concurrency.Task.sleep(nanoseconds: 100_000_000)
        }
        let state: NetworkState
        switch current() {
        case .some(let path) where path.status == .satisfied:
            // Cellular, a personal hotspot, or Low Data Mode: paid or rationed per byte.
            state = (path.isExpensive || path.isConstrained) ? .metered : .unmetered
        default:
            state = .offline
        }
        return NetworkPolicy(state: state, meteredLimitBytes: meteredLimitBytes, allowLargeOnMetered: false)
    }

    private func current() -> NWPath? {
        lock.lock()
        defer { lock.unlock() }
        return path
    }
}
