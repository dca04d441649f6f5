package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import java.math.BigInteger
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Platform adapters written in Kotlin against plain JCA, shaped like the Android Keystore ones in
 * android/: the wrapping key and the signing key stay in this object and only wrapped bytes and
 * signatures cross the FFI.
 */

/** AES-256-GCM key wrapping: `wrapped = iv (12) ‖ ciphertext ‖ tag (16)`, as Keystore's GCM gives it. */
class AesGcmKeyVault(private val key: SecretKey = newAesKey()) : KeyVault {
    var wrapCalls = 0
        private set
    var unwrapCalls = 0
        private set

    override fun wrapKey(key: ByteArray): ByteArray {
        wrapCalls++
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, this.key)
        return cipher.iv + cipher.doFinal(key)
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        unwrapCalls++
        if (wrapped.size < IV_LEN + TAG_LEN) throw PlatformException.Failed("wrapped key too short")
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_LEN * 8, wrapped, 0, IV_LEN))
        return try {
            cipher.doFinal(wrapped, IV_LEN, wrapped.size - IV_LEN)
        } catch (e: javax.crypto.AEADBadTagException) {
            // Keystore reports a key that no longer opens the blob the same way.
            throw PlatformException.Failed("wrapped key does not authenticate")
        }
    }

    companion object {
        const val IV_LEN = 12
        const val TAG_LEN = 16

        fun newAesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    }
}

/** A vault that works for the first open and then behaves like a locked or wiped Keystore. */
class LockableKeyVault(private val inner: KeyVault = AesGcmKeyVault()) : KeyVault {
    @Volatile var locked = false

    override fun wrapKey(key: ByteArray): ByteArray {
        if (locked) throw PlatformException.Unavailable("user not authenticated")
        return inner.wrapKey(key)
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        if (locked) throw PlatformException.Unavailable("user not authenticated")
        return inner.unwrapKey(wrapped)
    }
}

/** A vault whose unwrap "succeeds" with bytes that are not the data key. */
class GarbageKeyVault(private val inner: KeyVault, private val garbage: ByteArray) : KeyVault {
    override fun wrapKey(key: ByteArray): ByteArray = inner.wrapKey(key)

    override fun unwrapKey(wrapped: ByteArray): ByteArray = garbage.copyOf()
}

/** A vault whose adapter has a bug: it throws an exception UniFFI was not told about. */
class CrashingKeyVault : KeyVault {
    override fun wrapKey(key: ByteArray): ByteArray = throw IllegalStateException("adapter bug")

    override fun unwrapKey(wrapped: ByteArray): ByteArray = throw IllegalStateException("adapter bug")
}

/** ES256 with a JCA EC P-256 key: DER signatures, as `Signature("SHA256withECDSA")` returns on Android. */
class EcDeviceSigner(val keyPair: KeyPair = newP256KeyPair()) : DeviceSigner {
    // The core signs from its worker threads, several at once: the count must be atomic.
    private val signCount = java.util.concurrent.atomic.AtomicInteger()
    val signCalls: Int get() = signCount.get()

    override fun publicKey(): ByteArray = uncompressedPoint(keyPair.public as ECPublicKey)

    override fun sign(message: ByteArray): ByteArray {
        signCount.incrementAndGet()
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(keyPair.private)
            update(message)
            sign()
        }
    }

    companion object {
        fun newP256KeyPair(): KeyPair =
            KeyPairGenerator.getInstance("EC").run {
                initialize(ECGenParameterSpec("secp256r1"), SecureRandom())
                generateKeyPair()
            }
    }
}

/** A signer whose key is unusable (user not authenticated, key invalidated); the public key still reads. */
class UnavailableDeviceSigner(private val inner: EcDeviceSigner = EcDeviceSigner()) : DeviceSigner {
    override fun publicKey(): ByteArray = inner.publicKey()

    override fun sign(message: ByteArray): ByteArray = throw PlatformException.Unavailable("key invalidated")
}

/** 0x04 ‖ x ‖ y, each coordinate left-padded to 32 bytes (BigInteger drops or adds a leading zero). */
fun uncompressedPoint(key: ECPublicKey): ByteArray =
    byteArrayOf(0x04) + fixed32(key.w.affineX) + fixed32(key.w.affineY)

private fun fixed32(n: BigInteger): ByteArray {
    val raw = n.toByteArray()
    val trimmed = if (raw.size > 32) raw.copyOfRange(raw.size - 32, raw.size) else raw
    return ByteArray(32 - trimmed.size) + trimmed
}

/**
 * Keeps the trail checkpoint in memory and refuses to move it backwards, as a Keystore- or
 * Keychain-backed adapter must.
 */
class MemoryCheckpointStore : TrailCheckpointStore {
    @Volatile var stored: TrailCheckpoint? = null

    override fun loadTrailCheckpoint(): TrailCheckpoint? = stored

    override fun storeTrailCheckpoint(checkpoint: TrailCheckpoint) {
        val current = stored
        if (current != null && current.counter > checkpoint.counter) {
            throw PlatformException.Failed("the trail checkpoint only moves forward")
        }
        stored = checkpoint
    }
}
