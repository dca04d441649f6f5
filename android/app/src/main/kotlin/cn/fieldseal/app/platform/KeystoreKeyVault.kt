package cn.fieldseal.app.platform

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import androidx.annotation.RequiresApi
import cn.fieldseal.ffi.KeyVault
import cn.fieldseal.ffi.PlatformException
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * 数据密钥保管 — wraps the installation's data key with an AES-256-GCM key held in AndroidKeyStore.
 *
 * The wrapping key is generated inside Keystore (StrongBox when the device has one) and is never
 * exportable: this class only ever sees the wrapped bytes and, briefly, the data key that the Rust
 * core asks it to wrap or unwrap. Keystore chooses the IV (randomized encryption is required), so the
 * wrapped form is `version (1) ‖ iv (12) ‖ ciphertext ‖ tag (16)`, with a fixed associated data string
 * binding it to this purpose.
 *
 * No user-authentication requirement: the store is opened from Application.onCreate and by background
 * sync, which must not wait for a fingerprint. Screen-lock protection comes from file-based encryption
 * and from the app's own session lock.
 */
class KeystoreKeyVault(
    context: Context,
    private val alias: String = DEFAULT_ALIAS,
) : KeyVault {
    private val strongBox = Keystore.hasStrongBox(context)

    override fun wrapKey(key: ByteArray): ByteArray =
        keystoreCall {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, existingKey() ?: generateKey())
            cipher.updateAAD(AAD)
            val sealed = cipher.doFinal(key)
            val iv = cipher.iv
            if (iv.size != IV_LEN) throw PlatformException.Failed("unexpected GCM IV length ${iv.size}")
            byteArrayOf(FORMAT_V1) + iv + sealed
        }

    override fun unwrapKey(wrapped: ByteArray): ByteArray =
        keystoreCall {
            if (wrapped.size < 1 + IV_LEN + TAG_LEN || wrapped[0] != FORMAT_V1) {
                throw PlatformException.Failed("wrapped data key has an unknown format")
            }
            // Never generate on unwrap: a missing key means it was wiped (app data cleared, lock
            // screen removed on some devices), and a fresh key could not open the old data anyway.
            val key = existingKey() ?: throw PlatformException.Unavailable("wrapping key is missing from AndroidKeyStore")
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_LEN * 8, wrapped, 1, IV_LEN))
            cipher.updateAAD(AAD)
            cipher.doFinal(wrapped, 1 + IV_LEN, wrapped.size - 1 - IV_LEN)
        }

    private fun existingKey(): SecretKey? = Keystore.open().getKey(alias, null) as? SecretKey

    @Synchronized
    private fun generateKey(): SecretKey {
        existingKey()?.let { return it }
        return Keystore.withStrongBoxFallback(strongBox) { useStrongBox ->
            val spec =
                KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setKeySize(256)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setRandomizedEncryptionRequired(true)
                    .strongBoxBacked(useStrongBox)
                    .build()
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, Keystore.PROVIDER).run {
                init(spec)
                generateKey()
            }
        }
    }

    companion object {
        const val DEFAULT_ALIAS = "cn.fieldseal.data-key-wrap.v1"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val FORMAT_V1: Byte = 1
        private const val IV_LEN = 12
        private const val TAG_LEN = 16
        private val AAD = "fieldseal data key wrap v1".toByteArray(Charsets.US_ASCII)
    }
}

/**
 * Runs a Keystore operation and reports failures the way the Rust core understands them:
 * [PlatformException.Unavailable] for "not usable right now or any more" (the core shows the
 * KeyUnavailable message), [PlatformException.Failed] for everything else. Nothing else may escape:
 * UniFFI would turn a stray exception into a generic failure without a reason.
 */
internal inline fun <T> keystoreCall(block: () -> T): T =
    try {
        block()
    } catch (e: PlatformException) {
        throw e
    } catch (e: UserNotAuthenticatedException) {
        throw PlatformException.Unavailable("user not authenticated")
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw PlatformException.Unavailable("key permanently invalidated")
    } catch (e: AEADBadTagException) {
        throw PlatformException.Failed("wrapped key does not authenticate under this device's key")
    } catch (e: GeneralSecurityException) {
        throw PlatformException.Failed("keystore: ${e.javaClass.simpleName}")
    } catch (e: java.io.IOException) {
        throw PlatformException.Failed("keystore I/O: ${e.javaClass.simpleName}")
    } catch (e: RuntimeException) {
        // Keystore2 surfaces some daemon failures as ProviderException / IllegalStateException.
        throw PlatformException.Failed("keystore: ${e.javaClass.simpleName}")
    }

/** Shared AndroidKeyStore plumbing for both adapters. */
internal object Keystore {
    const val PROVIDER = "AndroidKeyStore"

    fun open(): KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    fun hasStrongBox(context: Context): Boolean =
        Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

    /**
     * Generates in StrongBox when the device advertises it, and falls back to the TEE when StrongBox
     * refuses this particular key (some secure elements lack AES-256 or are busy).
     */
    fun <T> withStrongBoxFallback(strongBox: Boolean, generate: (Boolean) -> T): T =
        if (strongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            tryStrongBox(generate)
        } else {
            generate(false)
        }

    @RequiresApi(Build.VERSION_CODES.P)
    private fun <T> tryStrongBox(generate: (Boolean) -> T): T =
        try {
            generate(true)
        } catch (e: StrongBoxUnavailableException) {
            generate(false)
        }
}

/** StrongBox exists from Android 9; below that the flag must not even be set. */
internal fun KeyGenParameterSpec.Builder.strongBoxBacked(use: Boolean): KeyGenParameterSpec.Builder =
    apply {
        if (use && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) setIsStrongBoxBacked(true)
    }
