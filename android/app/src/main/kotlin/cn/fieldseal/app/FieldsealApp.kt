package cn.fieldseal.app

import android.app.Application
import cn.fieldseal.app.platform.KeystoreDeviceSigner
import cn.fieldseal.app.platform.KeystoreKeyVault
import cn.fieldseal.app.platform.KeystoreTrailCheckpoint
import cn.fieldseal.app.sync.SyncWorker
import cn.fieldseal.core.SyncSettings
import cn.fieldseal.ffi.Fieldseal
import cn.fieldseal.ffi.SyncEngine
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import java.io.File

/**
 * Opens the Rust core once per process, in app-private storage (filesDir/fieldseal), with the
 * AndroidKeyStore adapters: the key vault, the device signer and the trail checkpoint store (so the
 * trail is anchored outside the database, not reported as "anchor weaker"). Everything the app knows lives behind the returned [Fieldseal].
 *
 * Opening runs off the main thread (Keystore and SQLite take tens of milliseconds, StrongBox more).
 * A failed open is a typed FieldsealException (KeyUnavailable, Storage, …) that a screen shows with
 * its bilingual message; [core] then tries again on the next call instead of caching the failure.
 */
class FieldsealApp : Application() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var opening: Deferred<Fieldseal>? = null

    private var sync: SyncEngine? = null

    override fun onCreate() {
        super.onCreate()
        core()
        SyncWorker.schedulePeriodic(this)
    }

    /**
     * The sync engine for this build's province: the intake address and the province's CA
     * certificate (PEM) are resources of the provincial build (res/values/province.xml,
     * res/raw/province_ca.pem), never typed in by a user. Without the CA file the core trusts no
     * server at all (plain HTTP to loopback only), so a build missing it cannot send anywhere.
     */
    suspend fun syncEngine(): SyncEngine {
        synchronized(this) { sync }?.let { return it }
        val caId = resources.getIdentifier("province_ca", "raw", packageName)
        val ca = if (caId == 0) null else resources.openRawResource(caId).bufferedReader().use { it.readText() }
        val engine = core().await().syncEngine(SyncSettings(intakeUrl = getString(R.string.intake_url), provinceCaPem = ca))
        return synchronized(this) { sync ?: engine.also { sync = it } }
    }

    /** The open core; await it from a coroutine. */
    @Synchronized
    fun core(): Deferred<Fieldseal> {
        opening?.let { current ->
            val failed = current.isCompleted && current.getCompletionExceptionOrNull() != null
            if (!failed) return current
        }
        return scope
            .async {
                Fieldseal.openWithCheckpoint(
                    File(filesDir, "fieldseal").path,
                    KeystoreKeyVault(this@FieldsealApp),
                    KeystoreDeviceSigner(this@FieldsealApp),
                    KeystoreTrailCheckpoint(this@FieldsealApp),
                )
            }.also { opening = it }
    }
}
