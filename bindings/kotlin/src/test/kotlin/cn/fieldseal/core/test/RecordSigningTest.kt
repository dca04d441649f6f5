package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.io.RandomAccessFile

/**
 * 现场检查笔录 — the on-site record signed from Kotlin through the generated bindings: a real
 * inspection brought to 待签字 with sealed photos, the record built and laid out by the core, two
 * inspectors and the party signing on a (simulated) pad with realistic pen samples, the freeze, the
 * refusals after it, an addendum, the export and the offline verification of the exported bundle.
 */
class RecordSigningTest {
    @get:Rule val tmp = TemporaryFolder()

    private val visit by lazy { FieldVisit(File(tmp.root, "captures")) }

    private fun openStore() = Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner())

    /** A visit walked to 待签字 from the example files: every visible item answered (one failed, with its finding), the photos sealed. */
    private fun Fieldseal.pendingSignature(): Pair<InspectionSession, List<String>> {
        visit.importExamples(this)
        val team = visit.validTeam(this)
        val session = createInspection(visit.task("T-2025-HW-0002"))
        visit.walkToPendingSignature(this, session, team)
        return session to team
    }

    private val pad get() = visit.pad

    private fun signature(seed: Long) = visit.signature(seed)

    private fun clock() = visit.clock()

    private fun fix() = visit.fix()

    private fun RecordSession.signAs(view: RecordView, role: SignerRole, inspectorId: String?, seed: Long): EntrySummary =
        with(visit) { signAs(view, role, inspectorId, seed) }

    private fun verify(store: Fieldseal, bundle: File): BundleVerification =
        runBlocking { store.verifyBundle(bundle.path, store.devicePublicKey()) }

    @Test
    fun `two inspectors and the party sign with strokes, the record freezes, exports and verifies offline`() {
        openStore().use { store ->
            val (session, team) = store.pendingSignature()
            val records = store.records(session.id())
            assertEquals(null, records.record())

            val built = records.build(PartyStatement(objection = false, text = "以上笔录属实"), true, null)
            assertEquals(DocumentKind.RECORD, built.kind)
            assertFalse(built.frozen)
            assertEquals("a SHA-256 per page", built.pages.size, built.pageHashes.size)
            assertEquals(64, built.documentHash.length)
            assertEquals("the pages the screen draws are the hashed ones", built.pages, records.pages(built.recordId))
            val first = built.pages.first()
            assertEquals(595u, first.width)
            assertTrue("the title is on the first page", first.lines.any { it.style == LineStyle.TITLE && it.text == "现场检查笔录" })
            for (page in built.pages) {
                assertTrue("page ${page.number} says 第x页共y页", page.lines.any { it.text.contains("第${page.number}页共${built.pages.size}页") })
                assertTrue("every page has the party's and the inspectors' slots", page.slots.map { it.role }.containsAll(listOf(SignerRole.PARTY, SignerRole.INSPECTOR)))
            }
            assertEquals("李明", built.document.content.header.personInCharge.name)
            assertEquals(team.toSet(), built.document.content.header.inspectors.map { it.id }.toSet())
            assertTrue("the sealed photos are listed with their hashes", built.document.content.evidence.isNotEmpty() && built.document.content.evidence.all { it.sha256.length == 64 })

            // A signer shown an older version cannot sign: the hash the screen showed must be current.
            val stale = assertFails<FieldsealException.NotAllowed>("record.stale_hash") {
                runBlocking { records.sign(built.recordId, "0".repeat(64), SignerRole.INSPECTOR, team[0], null, signature(1), clock(), fix()) }
            }
            assertEquals("record.signature.stale_hash", stale.rule)
            // A tap is not a signature.
            val tap = Strokes(pad, listOf(listOf(StrokePoint(500u, 200u, 0u, 300u), StrokePoint(501u, 200u, 8u, 310u))))
            val tiny = assertFails<FieldsealException.InvalidInput>("record.strokes") {
                runBlocking { records.sign(built.recordId, built.documentHash, SignerRole.PARTY, null, null, tap, clock(), null) }
            }
            assertEquals("strokes.too_small", tiny.reason)

            val signed = listOf(
                records.signAs(built, SignerRole.INSPECTOR, team[0], seed = 11),
                records.signAs(built, SignerRole.INSPECTOR, team[1], seed = 12),
            )
            assertEquals(listOf(SignerRole.INSPECTOR, SignerRole.INSPECTOR), signed.map { it.role })
            // Not yet: the party has not signed.
            val early = assertFails<FieldsealException.NotAllowed>("record.not_ready_to_freeze") { runBlocking { records.freeze(built.recordId) } }
            assertTrue(early.messageZh.contains("缺少"))
            records.signAs(built, SignerRole.PARTY, null, seed = 13)
            assertEquals(3, records.load(built.recordId).entries.size)

            val frozen = runBlocking { records.freeze(built.recordId) }
            assertTrue(frozen.frozen)
            assertEquals(built.documentHash, frozen.documentHash)
            assertEquals(InspectionState.SIGNED, session.state())

            // After freezing nothing changes the record: each attempt is refused as frozen.
            assertFails<FieldsealException.NotAllowed>("record.frozen") { records.signAs(built, SignerRole.PARTY, null, seed = 14) }
            assertFails<FieldsealException.NotAllowed>("record.frozen") {
                records.revise(built.recordId, "补充一处遗漏", team[0], PartyStatement(true, "对第3项有异议"))
            }
            assertEquals(frozen, records.load(built.recordId))

            // Further facts go into an addendum that names the record by hash and is signed again.
            val addendum = records.addAddendum(built.recordId, "经复核，导流沟破损长度约0.8米。", team[0], PartyStatement(false, "以上笔录属实"))
            assertEquals(DocumentKind.ADDENDUM, addendum.kind)
            assertEquals(built.documentHash, addendum.document.content.amends?.documentHash)
            records.signAs(addendum, SignerRole.INSPECTOR, team[0], seed = 21)
            records.signAs(addendum, SignerRole.INSPECTOR, team[1], seed = 22)
            records.signAs(addendum, SignerRole.PARTY, null, seed = 23)
            assertTrue(runBlocking { records.freeze(addendum.recordId) }.frozen)

            val bundle = File(tmp.root, "export/bundle.zip").apply { parentFile.mkdirs() }
            val summary = runBlocking { records.export(built.recordId, bundle.path) }
            assertEquals(bundle.path, summary.path)
            assertFalse("the phone exports without a PDF view", summary.withPdf)
            assertEquals(bundle.length().toULong(), summary.bytes)
            assertTrue(summary.members > 10uL)
            assertFails<FieldsealException.Storage>("bundle.output") { runBlocking { records.export(built.recordId, bundle.path) } }

            val report = verify(store, bundle)
            assertTrue(report.text, report.verified)
            assertEquals(0u, report.failed)
            assertEquals(0u, report.notChecked)
            assertEquals("three signatures on the record, three on the addendum", 6, report.checks.count { it.check == "record.signature" && it.outcome == CheckOutcome.PASSED })
            assertTrue(report.checks.any { it.check == "addendum.amends" && it.outcome == CheckOutcome.PASSED })
            assertTrue("a phone export is accepted without a PDF, and says so", report.checks.any { it.check == "pdf.text" && it.detail.contains("without a PDF") })

            // One flipped byte in the exported file is found and named.
            val altered = File(tmp.root, "export/altered.zip")
            bundle.copyTo(altered)
            val png = report.checks.first { it.check == "member.hash" && it.subject.endsWith(".png") }.subject
            RandomAccessFile(altered, "rw").use { f ->
                val bytes = bundle.readBytes()
                val at = indexOf(bytes, png.toByteArray()) + png.length + 200
                f.seek(at.toLong())
                f.write(bytes[at].toInt() xor 0x01)
            }
            val tampered = verify(store, altered)
            assertFalse(tampered.verified)
            assertTrue(tampered.text, tampered.checks.any { it.outcome == CheckOutcome.FAILED && it.subject == png })
            // A key other than the enrolled one is refused.
            val otherKey = runBlocking { store.verifyBundle(bundle.path, uncompressedPoint(EcDeviceSigner.newP256KeyPair().public as java.security.interfaces.ECPublicKey)) }
            assertFalse(otherKey.verified)
            assertTrue(otherKey.checks.any { it.check == "bundle.device_key_trusted" && it.outcome == CheckOutcome.FAILED })
        }
    }

    @Test
    fun `a refusal with neither witness nor video is refused and the record cannot freeze, with a witness it can`() {
        openStore().use { store ->
            val (session, team) = store.pendingSignature()
            val records = store.records(session.id())
            val built = records.build(PartyStatement(objection = true, text = "对检查结论有异议，拒绝签字"), true, null)
            records.signAs(built, SignerRole.INSPECTOR, team[0], seed = 31)
            records.signAs(built, SignerRole.INSPECTOR, team[1], seed = 32)

            val bare = assertFails<FieldsealException.NotAllowed> {
                runBlocking { records.refuse(built.recordId, built.documentHash, "当事人拒绝签字", team[0], null, null, clock(), fix()) }
            }
            assertEquals("record.refusal.witness_or_video", bare.rule)
            assertEquals("nothing was recorded", 2, records.load(built.recordId).entries.size)
            val notReady = assertFails<FieldsealException.NotAllowed>("record.not_ready_to_freeze") { runBlocking { records.freeze(built.recordId) } }
            assertEquals("record.freeze.party_signature_or_refusal", notReady.rule)
            assertFalse(records.load(built.recordId).frozen)
            assertEquals(InspectionState.PENDING_SIGNATURE, session.state())

            // A video id that is not a video of this inspection does not count either.
            val photo = store.evidence().list(session.id()).first().evidenceId
            assertFails<FieldsealException.InvalidInput> {
                runBlocking { records.refuse(built.recordId, built.documentHash, "当事人拒绝签字", team[0], null, photo, clock(), fix()) }
            }

            val witness = WitnessInput(name = "王芳（园区管委会）", strokes = signature(33))
            val refusal = runBlocking { records.refuse(built.recordId, built.documentHash, "当事人拒绝签字", team[0], witness, null, clock(), fix()) }
            assertEquals("refusal", refusal.entry)
            assertEquals(SignerRole.PARTY, refusal.role)
            val frozen = runBlocking { records.freeze(built.recordId) }
            assertTrue(frozen.frozen)
            assertEquals(InspectionState.SIGNED, session.state())

            val bundle = File(tmp.root, "refused.zip")
            runBlocking { records.export(built.recordId, bundle.path) }
            val report = verify(store, bundle)
            assertTrue(report.text, report.verified)
            assertTrue(report.checks.any { it.check == "record.refusal" && it.outcome == CheckOutcome.PASSED })
        }
    }

    private fun indexOf(haystack: ByteArray, needle: ByteArray): Int {
        outer@ for (i in 0..haystack.size - needle.size) {
            for (j in needle.indices) if (haystack[i + j] != needle[j]) continue@outer
            return i
        }
        error("not found")
    }
}
