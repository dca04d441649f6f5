package cn.fieldseal.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import cn.fieldseal.ffi.DeviceSigner
import cn.fieldseal.ffi.PlatformException
import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/**
 * 设备签名密钥 — the device's ES256 key (ECDSA P-256 with SHA-256) held in AndroidKeyStore.
 *
 * Generated once per installation with PURPOSE_SIGN only, in StrongBox when available; the private key
 * never leaves Keystore. The Rust core signs every envelope, evidence manifest and trail head through
 * [sign] and normalises the DER signature Keystore returns to the fixed 64-byte r ‖ s.
 *
 * Like the vault key it needs no user authentication: captures are sealed the moment the shutter
 * fires, and the inspector has already unlocked the phone to take the photo.
 */
class KeystoreDeviceSigner(
    context: Context,
    private val alias: String = DEFAULT_ALIAS,
) : DeviceSigner {
    private val strongBox = Keystore.hasStrongBox(context)

    /** 0x04 ‖ x ‖ y, each coordinate exactly 32 bytes, from the key's Keystore certificate. */
    override fun publicKey(): ByteArray =
        keystoreCall {
            ensureKey()
            val certificate =
                Keystore.open().getCertificate(alias)
                    ?: throw PlatformException.Unavailable("device signing key has no certificate")
            val key = certificate.publicKey as? ECPublicKey ?: throw PlatformException.Failed("device key is not EC")
            uncompressedPoint(key)
        }

    /** SHA256withECDSA over [message]; Keystore hashes inside the secure hardware. DER-encoded. */
    override fun sign(message: ByteArray): ByteArray =
        keystoreCall {
            ensureKey()
            val privateKey =
                Keystore.open().getKey(alias, null) as? PrivateKey
                    ?: throw PlatformException.Unavailable("device signing key is missing from AndroidKeyStore")
            Signature.getInstance("SHA256withECDSA").run {
                initSign(privateKey)
                update(message)
                sign()
            }
        }

    @Synchronized
    private fun ensureKey() {
        if (Keystore.open().containsAlias(alias)) return
        Keystore.withStrongBoxFallback(strongBox) { useStrongBox ->
            val spec =
                KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                    .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                    .setDigests(KeyProperties.DIGEST_SHA256)
                    .strongBoxBacked(useStrongBox)
                    .build()
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, Keystore.PROVIDER).run {
                initialize(spec)
                generateKeyPair()
            }
        }
    }

    companion object {
        const val DEFAULT_ALIAS = "cn.fieldseal.device-signing.v1"
    }
}

/** SEC1 uncompressed point. BigInteger may add a sign byte or drop leading zeros; fix both. */
internal fun uncompressedPoint(key: ECPublicKey): ByteArray {
    fun fixed32(n: BigInteger): ByteArray {
        val raw = n.toByteArray()
        val trimmed = if (raw.size > 32) raw.copyOfRange(raw.size - 32, raw.size) else raw
        return ByteArray(32 - trimmed.size) + trimmed
    }
    return byteArrayOf(0x04) + fixed32(key.w.affineX) + fixed32(key.w.affineY)
}
