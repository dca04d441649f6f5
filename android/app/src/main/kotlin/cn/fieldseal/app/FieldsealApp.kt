package cn.fieldseal.app

import android.app.Application
import cn.fieldseal.app.platform.KeystoreDeviceSigner
import cn.fieldseal.app.platform.KeystoreKeyVault
import cn.fieldseal.ffi.Fieldseal
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import java.io.File

/**
 * Opens the Rust core once per process, in app-private storage (filesDir/fieldseal), with the
 * AndroidKeyStore adapters. Everything the app knows lives behind the returned [Fieldseal].
 *
 * Opening runs off the main thread (Keystore and SQLite take tens of milliseconds, StrongBox more).
 * A failed open is a typed FieldsealException (KeyUnavailable, Storage, …) that a screen shows with
 * its bilingual message; [core] then tries again on the next call instead of caching the failure.
 */
class FieldsealApp : Application() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var opening: Deferred<Fieldseal>? = null

    override fun onCreate() {
        super.onCreate()
        core()
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
                Fieldseal.open(
                    File(filesDir, "fieldseal").path,
                    KeystoreKeyVault(this@FieldsealApp),
                    KeystoreDeviceSigner(this@FieldsealApp),
                )
            }.also { opening = it }
    }
}
