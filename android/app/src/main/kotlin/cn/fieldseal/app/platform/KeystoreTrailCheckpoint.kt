package cn.fieldseal.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import cn.fieldseal.core.TrailCheckpoint
import cn.fieldseal.ffi.PlatformException
import cn.fieldseal.ffi.TrailCheckpointStore
import java.io.File
import java.io.FileOutputStream
import java.nio.ByteBuffer
import java.security.MessageDigest
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey

/**
 * 检查点存储 — keeps the trail checkpoint (the newest signed head's counter and anchor hash, see
 * `fieldseal_core::trail::anchor`) outside SQLite, so a database put back from an older copy shows
 * as rolled back instead of passing as the latest.
 *
 * The checkpoint is a small file in `noBackupFilesDir` (never in a backup, never moved to another
 * device) authenticated with HMAC-SHA256 under a key held in AndroidKeyStore. The key is made for
 * one counter only (alias `…<counter>`) and a new key is made at every move, the older ones
 * deleted once the new file is in place. So the Keystore's newest alias is itself the monotonic
 * counter, and an older copy of the file (restored together with an older database, or copied off
 * the phone and back) names a key that no longer exists and is refused. Neither the file nor the
 * Keystore entry can be moved back by copying the app's files: Keystore keys live in the keystore
 * daemon (TEE), not in the app's directory.
 *
 * The format is `"FSCP" ‖ version 1 ‖ counter (8, big-endian) ‖ hash length (1) ‖ anchor hash
 * (ASCII hex) ‖ HMAC-SHA256 (32)` over everything before the MAC. Stores only move forward: a
 * lower counter, or another hash at the same counter, is refused with [PlatformException.Failed]
 * as the FFI trait requires. A file that is missing while its key exists, or that does not verify,
 * is reported (not treated as "no checkpoint yet"), so deleting it cannot reset the checkpoint.
 *
 * The HMAC key is generated in the TEE, not StrongBox: a key is made at every anchor (each capture
 * and state change), and StrongBox key generation takes hundreds of milliseconds.
 */
class KeystoreTrailCheckpoint(
    context: Context,
    private val file: File = File(context.noBackupFilesDir, FILE_NAME),
    private val aliasPrefix: String = ALIAS_PREFIX,
) : TrailCheckpointStore {
    @Synchronized
    override fun loadTrailCheckpoint(): TrailCheckpoint? = keystoreCall { load() }

    @Synchronized
    override fun storeTrailCheckpoint(checkpoint: TrailCheckpoint) =
        keystoreCall {
            val current = load()
            if (current != null) {
                if (checkpoint.counter < current.counter) {
                    throw PlatformException.Failed("the trail checkpoint only moves forward (stored ${current.counter}, offered ${checkpoint.counter})")
                }
                if (checkpoint.counter == current.counter) {
                    if (checkpoint.anchorHash == current.anchorHash) return@keystoreCall
                    throw PlatformException.Failed("another anchor hash at stored counter ${current.counter}")
                }
            }
            if (!HASH.matches(checkpoint.anchorHash)) throw PlatformException.Failed("anchor hash is not 64 hex characters")
            val keystore = Keystore.open()
            val alias = alias(checkpoint.counter)
            // A key left by a crash between making it and writing the file is replaced.
            if (keystore.containsAlias(alias)) keystore.deleteEntry(alias)
            val key = generateKey(alias)
            val body = encodeBody(checkpoint)
            writeAtomically(body + mac(key, body))
            for (older in counters().filter { it < checkpoint.counter }) keystore.deleteEntry(alias(older))
        }

    private fun load(): TrailCheckpoint? {
        val counters = counters()
        if (!file.exists()) {
            if (counters.isEmpty()) return null
            throw PlatformException.Failed("the trail checkpoint file is missing but its key exists: it was deleted or the app's files were replaced")
        }
        val bytes = file.readBytes()
        if (bytes.size < BODY_MIN + MAC_LEN) throw PlatformException.Failed("the trail checkpoint file is too short")
        val body = bytes.copyOfRange(0, bytes.size - MAC_LEN)
        val checkpoint = decodeBody(body)
        val key =
            Keystore.open().getKey(alias(checkpoint.counter), null) as? SecretKey
                ?: throw PlatformException.Failed(
                    "the trail checkpoint file names counter ${checkpoint.counter}, whose key this device no longer holds: an older copy of the file was put back",
                )
        if (!MessageDigest.isEqual(mac(key, body), bytes.copyOfRange(bytes.size - MAC_LEN, bytes.size))) {
            throw PlatformException.Failed("the trail checkpoint file does not authenticate under its key")
        }
        // A newer key without its file is a move that crashed before the rename: the file still
        // holds the last completed checkpoint, which is what the core compares with.
        return checkpoint
    }

    /** Counters that have a key in AndroidKeyStore, highest first. */
    private fun counters(): List<ULong> =
        Keystore.open().aliases().toList()
            .filter { it.startsWith(aliasPrefix) }
            .mapNotNull { it.removePrefix(aliasPrefix).toULongOrNull() }
            .sortedDescending()

    private fun alias(counter: ULong) = "$aliasPrefix$counter"

    private fun generateKey(alias: String): SecretKey {
        val spec =
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN or KeyProperties.PURPOSE_VERIFY)
                .setDigests(KeyProperties.DIGEST_SHA256)
                .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256, Keystore.PROVIDER).run {
            init(spec)
            generateKey()
        }
    }

    private fun mac(key: SecretKey, body: ByteArray): ByteArray =
        Mac.getInstance(MAC_ALGORITHM).run {
            init(key)
            doFinal(body)
        }

    /** Written beside the old file, synced, then renamed over it: a crash leaves one or the other. */
    private fun writeAtomically(bytes: ByteArray) {
        file.parentFile?.mkdirs()
        val partial = File(file.parentFile, "${file.name}.partial")
        FileOutputStream(partial).use { out ->
            out.write(bytes)
            out.fd.sync()
        }
        if (!partial.renameTo(file)) throw PlatformException.Failed("could not move the trail checkpoint into place")
    }

    private fun encodeBody(checkpoint: TrailCheckpoint): ByteArray {
        val hash = checkpoint.anchorHash.toByteArray(Charsets.US_ASCII)
        return ByteBuffer.allocate(MAGIC.size + 1 + 8 + 1 + hash.size).run {
            put(MAGIC)
            put(FORMAT_V1)
            putLong(checkpoint.counter.toLong())
            put(hash.size.toByte())
            put(hash)
            array()
        }
    }

    private fun decodeBody(body: ByteArray): TrailCheckpoint {
        val buffer = ByteBuffer.wrap(body)
        val magic = ByteArray(MAGIC.size).also { buffer.get(it) }
        if (!magic.contentEquals(MAGIC) || buffer.get() != FORMAT_V1) {
            throw PlatformException.Failed("the trail checkpoint file has an unknown format")
        }
        val counter = buffer.getLong().toULong()
        val length = buffer.get().toInt() and 0xff
        if (length != buffer.remaining()) throw PlatformException.Failed("the trail checkpoint file is damaged")
        val hash = ByteArray(length).also { buffer.get(it) }.toString(Charsets.US_ASCII)
        if (!HASH.matches(hash)) throw PlatformException.Failed("the trail checkpoint file is damaged")
        return TrailCheckpoint(counter = counter, anchorHash = hash)
    }

    companion object {
        const val FILE_NAME = "fieldseal-trail-checkpoint"
        const val ALIAS_PREFIX = "cn.fieldseal.trail-checkpoint.v1."
        private const val MAC_ALGORITHM = "HmacSHA256"
        private const val MAC_LEN = 32
        private const val FORMAT_V1: Byte = 1
        private val MAGIC = "FSCP".toByteArray(Charsets.US_ASCII)
        private const val BODY_MIN = 4 + 1 + 8 + 1
        private val HASH = Regex("^[0-9a-f]{64}$")
    }
}
