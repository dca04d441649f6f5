package cn.fieldseal.app.sync

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import cn.fieldseal.app.FieldsealApp
import cn.fieldseal.core.FieldsealException
import cn.fieldseal.core.NetworkPolicy
import cn.fieldseal.core.NetworkState
import cn.fieldseal.core.SyncOutcome
import java.util.concurrent.TimeUnit

/**
 * The WorkManager side of sync: every decision is the core's `SyncEngine.backgroundPass`, which runs
 * one pass bounded by [BUDGET_MS] under the network Android reports and says whether more work
 * remains, when to run next and whether that needs an unmetered network. This worker only turns the
 * answer into the next request: a one-off run after `runAgainInMs` (with an unmetered constraint
 * for large video), beside a periodic safety net, so a send never silently stalls until someone taps
 * "resume".
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = applicationContext as FieldsealApp
        val outcome: SyncOutcome = try {
            app.syncEngine().backgroundPass(currentNetwork(applicationContext), BUDGET_MS)
        } catch (e: FieldsealException.Network) {
            // Not enrolled, or a certificate problem: only a person can help; the screen shows it.
            return if (e.retryable) Result.retry() else Result.failure()
        } catch (e: FieldsealException) {
            return Result.failure()
        }
        if (outcome.moreWork) scheduleNext(applicationContext, outcome)
        return Result.success()
    }

    companion object {
        /** Well inside WorkManager's 10-minute limit, so the pass ends cleanly, never killed mid-way. */
        const val BUDGET_MS: ULong = 8uL * 60uL * 1000uL
        private const val PERIODIC = "fieldseal-sync-periodic"
        private const val NEXT = "fieldseal-sync-next"

        /** The periodic safety net, kept once per install (call from Application.onCreate). */
        fun schedulePeriodic(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(30, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** Runs a pass soon (after a capture or a tap on "sync now"). */
        fun runSoon(context: Context) {
            enqueueNext(context, 0L, NetworkType.CONNECTED)
        }

        private fun scheduleNext(context: Context, outcome: SyncOutcome) {
            val network = if (outcome.needsUnmetered) NetworkType.UNMETERED else NetworkType.CONNECTED
            // No time given: waiting for a network; the constraint starts the work when one appears.
            val delay = outcome.runAgainInMs?.toLong() ?: 0L
            enqueueNext(context, delay, network)
        }

        private fun enqueueNext(context: Context, delayMs: Long, network: NetworkType) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setInitialDelay(delayMs, TimeUnit.MILLISECONDS)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(network).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NEXT, ExistingWorkPolicy.REPLACE, request)
        }

        /** What Android says about the active network, as the core's policy wants it. */
        fun currentNetwork(context: Context): NetworkPolicy {
            val connectivity = context.getSystemService(ConnectivityManager::class.java)
            val capabilities = connectivity?.getNetworkCapabilities(connectivity.activeNetwork)
            val state = when {
                capabilities == null || !capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) -> NetworkState.OFFLINE
                capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) -> NetworkState.UNMETERED
                else -> NetworkState.METERED
            }
            return NetworkPolicy(state = state, meteredLimitBytes = METERED_LIMIT_BYTES, allowLargeOnMetered = false)
        }

        /** Items above this wait for Wi-Fi on mobile data (the core's default, 50 MiB). */
        private const val METERED_LIMIT_BYTES: ULong = 50uL shl 20
    }
}
