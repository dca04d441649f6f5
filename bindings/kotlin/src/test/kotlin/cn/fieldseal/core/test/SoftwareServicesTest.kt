package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.math.BigInteger
import java.security.KeyFactory
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec

/** The software vault and signer the core exports for the CLI, development builds and tests. */
class SoftwareServicesTest {
    @get:Rule val tmp = TemporaryFolder()

    private fun path(name: String) = File(tmp.root, name).path

    @Test
    fun `software vault and signer from the bindings open a store and sign verifiable statements`() {
        val vault = softwareKeyVault(path("kek"))
        val signer = softwareDeviceSigner(vault, path("device.key"))
        Fieldseal.open(path("data"), vault, signer).use { store ->
            val envelope = runBlocking { store.signStatement("""{"type":"t","v":1}""") }
            assertEquals("t", store.verifyStatement(envelope, signer.publicKey()).payloadType)
            assertArrayEquals(signer.publicKey(), store.devicePublicKey())
        }
    }

    @Test
    fun `a software signer keeps its identity across instances`() {
        val vault = softwareKeyVault(path("kek"))
        val first = softwareDeviceSigner(vault, path("device.key")).publicKey()
        val again = softwareDeviceSigner(softwareKeyVault(path("kek")), path("device.key")).publicKey()
        assertArrayEquals(first, again)
        assertEquals(65, first.size)
        assertEquals(0x04.toByte(), first[0])
    }

    @Test
    fun `the software signer's key file is not the private key in the clear`() {
        val signer = softwareDeviceSigner(softwareKeyVault(path("kek")), path("device.key"))
        val onDisk = File(path("device.key")).readBytes()
        // A PKCS#8 P-256 key starts with this DER prefix; a vault-wrapped one does not.
        val pkcs8Prefix = byteArrayOf(0x30, 0x81.toByte(), 0x87.toByte(), 0x02, 0x01, 0x00)
        assertFalse(onDisk.containsSubsequence(pkcs8Prefix))
        assertFalse(onDisk.containsSubsequence(signer.publicKey().copyOfRange(1, 33)))
    }

    @Test
    fun `a software signer's key file cannot be loaded through another vault`() {
        softwareDeviceSigner(softwareKeyVault(path("kek")), path("device.key"))
        assertFails<FieldsealException.KeyUnavailable> {
            softwareDeviceSigner(softwareKeyVault(path("other-kek")), path("device.key"))
        }
    }

    @Test
    fun `a damaged software vault key file is reported, never replaced`() {
        val keyFile = File(path("kek")).apply { writeBytes(ByteArray(5) { 7 }) }
        assertFails<FieldsealException.Integrity> { softwareKeyVault(keyFile.path) }
        assertArrayEquals(ByteArray(5) { 7 }, keyFile.readBytes())
    }

    @Test
    fun `a passphrase vault reopens only with the same passphrase`() {
        val signer = EcDeviceSigner()
        Fieldseal.open(path("data"), softwarePassphraseVault("正确的口令 correct"), signer).close()
        Fieldseal.open(path("data"), softwarePassphraseVault("正确的口令 correct"), signer).close()
        assertFails<FieldsealException.KeyUnavailable> {
            Fieldseal.open(path("data"), softwarePassphraseVault("wrong"), signer).close()
        }
    }

    @Test
    fun `the JDK verifies the software signer's raw signatures`() {
        val signer = softwareDeviceSigner(softwareKeyVault(path("kek")), path("device.key"))
        val message = "fieldseal".toByteArray()
        val signature = signer.sign(message)
        val jdk = Signature.getInstance(if (signature.size == 64) "SHA256withECDSAinP1363Format" else "SHA256withECDSA")
        jdk.initVerify(publicKeyFromPoint(signer.publicKey()))
        jdk.update(message)
        assertTrue(jdk.verify(signature))
    }

    private fun publicKeyFromPoint(point: ByteArray): ECPublicKey {
        require(point.size == 65 && point[0] == 0x04.toByte())
        val params = (EcDeviceSigner().keyPair.public as ECPublicKey).params
        val w = ECPoint(BigInteger(1, point.copyOfRange(1, 33)), BigInteger(1, point.copyOfRange(33, 65)))
        return KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(w, params)) as ECPublicKey
    }
}
