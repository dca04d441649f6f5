package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.security.MessageDigest
import java.security.Signature
import java.util.Base64
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/** Signed statements: the async sign call drives the Kotlin signer; verification is offline. */
class StatementsTest {
    @get:Rule val tmp = TemporaryFolder()

    private val payload = """{"type":"test.statement","inspection":"insp-1","note":"现场检查","n":3}"""

    private fun openStore(signer: DeviceSigner = EcDeviceSigner()) =
        Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), signer)

    @Test
    fun `an envelope signed by the Kotlin signer verifies against its public key`() {
        val signer = EcDeviceSigner()
        openStore(signer).use { store ->
            val envelope = runBlocking { store.signStatement(payload) }
            assertEquals("the Kotlin signer was asked exactly once", 1, signer.signCalls)
            val verified = store.verifyStatement(envelope, signer.publicKey())
            assertEquals(store.deviceKeyId(), verified.keyId)
            assertEquals("test.statement", verified.payloadType)
            assertTrue(verified.payloadJson.contains("\"inspection\":\"insp-1\""))
            assertTrue(verified.payloadJson.contains("现场检查"))
        }
    }

    @Test
    fun `the verified payload is canonical JSON whatever the input key order`() {
        openStore().use { store ->
            val a = store.signBlocking("""{"b":1,"a":"x","type":"t"}""")
            val b = store.signBlocking("""{ "type":"t", "a":"x", "b":1 }""")
            val key = store.devicePublicKey()
            assertEquals("""{"a":"x","b":1,"type":"t"}""", store.verifyStatement(a, key).payloadJson)
            assertEquals(store.verifyStatement(a, key).payloadJson, store.verifyStatement(b, key).payloadJson)
        }
    }

    @Test
    fun `the envelope carries a real ES256 signature over the documented signing input`() {
        val signer = EcDeviceSigner()
        openStore(signer).use { store ->
            val envelope = store.signBlocking(payload)
            val canonicalPayload = store.verifyStatement(envelope, signer.publicKey()).payloadJson
            // Checked with the JDK, independently of the Rust verifier: r ‖ s over prefix ‖ canonical payload.
            val signature = Base64.getUrlDecoder().decode(field(envelope, "signature"))
            assertEquals("fixed-size r ‖ s, not DER", 64, signature.size)
            val jdk = Signature.getInstance("SHA256withECDSAinP1363Format")
            jdk.initVerify(signer.keyPair.public)
            jdk.update("fieldseal-envelope-v1\n".toByteArray() + canonicalPayload.toByteArray())
            assertTrue("JDK verifies the signature", jdk.verify(signature))
            val digest = MessageDigest.getInstance("SHA-256").digest(signer.publicKey())
            val expectedKeyId = digest.copyOf(16).joinToString("") { "%02x".format(it) }
            assertEquals(expectedKeyId, field(envelope, "key_id"))
            assertEquals("ES256", field(envelope, "alg"))
        }
    }

    @Test
    fun `an envelope whose payload was changed fails verification as a bad signature`() {
        openStore().use { store ->
            val envelope = store.signBlocking(payload)
            val tampered = envelope.replace("insp-1", "insp-2")
            assertNotEquals(envelope, tampered)
            assertFails<FieldsealException.Integrity>("protocol.bad_signature") {
                store.verifyStatement(tampered, store.devicePublicKey())
            }
        }
    }

    @Test
    fun `an envelope checked against another device's key is refused`() {
        openStore().use { store ->
            val envelope = store.signBlocking(payload)
            assertFails<FieldsealException.Integrity>("protocol.key_id_mismatch") {
                store.verifyStatement(envelope, EcDeviceSigner().publicKey())
            }
        }
    }

    @Test
    fun `an envelope relabelled with another device's key id does not verify under that key`() {
        val other = EcDeviceSigner()
        openStore().use { store ->
            val envelope = store.signBlocking(payload)
            val otherId = openOther(other).use { it.deviceKeyId() }
            val relabelled = envelope.replace(field(envelope, "key_id"), otherId)
            assertFails<FieldsealException.Integrity>("protocol.bad_signature") {
                store.verifyStatement(relabelled, other.publicKey())
            }
        }
    }

    @Test
    fun `a signer that refuses is KeyUnavailable from the async call`() {
        openStore(UnavailableDeviceSigner()).use { store ->
            assertFails<FieldsealException.KeyUnavailable>("crypto.signer") { store.signBlocking(payload) }
        }
    }

    @Test
    fun `a signer whose signatures do not match its public key is refused at sealing`() {
        val mismatched =
            object : DeviceSigner {
                val real = EcDeviceSigner()
                val impostor = EcDeviceSigner()

                override fun publicKey(): ByteArray = real.publicKey()

                override fun sign(message: ByteArray): ByteArray = impostor.sign(message)
            }
        openStore(mismatched).use { store ->
            assertFails<FieldsealException.KeyUnavailable>("crypto.signer") { store.signBlocking(payload) }
        }
    }

    @Test
    fun `an integer beyond 2^53 in a payload is InvalidInput naming its path`() {
        openStore().use { store ->
            val e =
                assertFails<FieldsealException.InvalidInput>("protocol.non_canonical_number") {
                    store.signBlocking("""{"type":"t","readings":[1,9007199254740993]}""")
                }
            assertEquals("/readings/1", e.field)
        }
    }

    @Test
    fun `text that is not strict JSON cannot be signed`() {
        openStore().use { store ->
            for (bad in listOf("", "not json", "{\"a\":1,\"a\":2}", "{\"a\":1")) {
                val e = assertFails<FieldsealException>(null) { store.signBlocking(bad) }
                assertTrue("'$bad' is refused as malformed, not as a bug: $e", e !is FieldsealException.Internal)
            }
        }
    }

    @Test
    fun `concurrent async signatures from coroutines all verify`() {
        val signer = EcDeviceSigner()
        openStore(signer).use { store ->
            val envelopes =
                runBlocking {
                    (1..8).map { n -> async { store.signStatement("""{"type":"t","n":$n}""") } }.awaitAll()
                }
            assertEquals(8, signer.signCalls)
            envelopes.forEachIndexed { i, env ->
                assertTrue(store.verifyStatement(env, signer.publicKey()).payloadJson.contains("\"n\":${i + 1}"))
            }
        }
    }

    @Test
    fun `cancelling a pending signature cancels the coroutine and leaves the store usable`() {
        val entered = CountDownLatch(1)
        val release = CountDownLatch(1)
        val slow =
            object : DeviceSigner {
                val inner = EcDeviceSigner()

                override fun publicKey(): ByteArray = inner.publicKey()

                override fun sign(message: ByteArray): ByteArray {
                    entered.countDown()
                    // Like a Keystore key waiting for the user: blocks a Rust worker thread, not Kotlin's.
                    release.await()
                    return inner.sign(message)
                }
            }
        // Hang guard only: if cancellation were ignored, cancelAndJoin would wait for the signer
        // forever; this frees it eventually so the assertion below fails instead of the run hanging.
        thread(isDaemon = true) { if (!release.await(120, TimeUnit.SECONDS)) release.countDown() }
        openStore(slow).use { store ->
            runBlocking {
                val pending = launch(Dispatchers.Default) { store.signStatement(payload) }
                entered.await()
                pending.cancelAndJoin()
                assertTrue("the caller's coroutine ends as cancelled", pending.isCancelled)
                assertEquals("cancellation did not wait for the blocked signer", 1L, release.count)
            }
            release.countDown()
            val envelope = store.signBlocking(payload)
            store.verifyStatement(envelope, slow.publicKey())
        }
    }

    private fun openOther(signer: DeviceSigner) = Fieldseal.open(File(tmp.root, "other").path, AesGcmKeyVault(), signer)

    /** A string member of the envelope's canonical JSON (flat members only: alg, key_id, signature). */
    private fun field(envelope: String, name: String): String =
        Regex("\"$name\":\"([^\"]*)\"").find(envelope)?.groupValues?.get(1)
            ?: throw AssertionError("envelope has no $name: $envelope")

    private fun Fieldseal.signBlocking(json: String): String = runBlocking { signStatement(json) }
}
