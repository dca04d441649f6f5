package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.awt.image.BufferedImage
import java.io.File
import java.io.RandomAccessFile
import java.time.LocalDate
import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.Random
import javax.imageio.ImageIO
import kotlin.math.PI
import kotlin.math.cos
import kotlin.math.roundToInt
import kotlin.math.sin

/**
 * 现场检查笔录 — the on-site record signed from Kotlin through the generated bindings: a real
 * inspection brought to 待签字 with sealed photos, the record built and laid out by the core, two
 * inspectors and the party signing on a (simulated) pad with realistic pen samples, the freeze, the
 * refusals after it, an addendum, the export and the offline verification of the exported bundle.
 */
class RecordSigningTest {
    @get:Rule val tmp = TemporaryFolder()

    private val today: LocalDate = LocalDate.now()

    private fun openStore() = Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner())

    private val repoRoot: File by lazy {
        generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
            .firstOrNull { File(it, "examples/register.json").isFile }
            ?: error("examples/register.json not found above ${System.getProperty("user.dir")}")
    }

    // ---- an inspection waiting for signature, as the checklist screens leave it ----

    private fun ChecklistView.items(): List<ItemView> = sections.flatMap { it.items }

    private fun answerFor(item: ItemView, result: ResultCode): AnswerValue =
        when (item.answerType) {
            "result" -> AnswerValue.Result(result, null)
            "number" -> AnswerValue.Number(item.min ?: item.max ?: 1.0)
            "text" -> AnswerValue.Text("导流沟局部破损约0.5米，收集池未见渗漏。")
            "single_choice" -> AnswerValue.SingleChoice(item.options.first().value)
            "multiple_choice" -> AnswerValue.MultipleChoice(item.options.take(2).map { it.value })
            "date" -> AnswerValue.Date(today.minusDays(10).toString())
            else -> throw AssertionError("unknown answer type ${item.answerType}")
        }

    private fun now(): String = OffsetDateTime.now(ZoneOffset.ofHours(8)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)

    private fun sealPhoto(store: Fieldseal, inspectionId: String, itemId: String, kind: EvidenceKind, operator: String, seed: Int) {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        val random = Random(seed.toLong())
        for (y in 0 until 240) for (x in 0 until 320) image.setRGB(x, y, random.nextInt(0xFFFFFF))
        val file = File(tmp.root, "captures").apply { mkdirs() }.resolve("IMG_$seed.jpg")
        assertTrue(ImageIO.write(image, "jpg", file))
        val request =
            IngestRequest(
                sourcePath = file.path,
                inspectionId = inspectionId,
                itemId = itemId,
                kind = kind,
                operator = operator,
                location = LocationFix(lat = SITE.lat, lon = SITE.lon, accuracyM = 8.0, provider = "gps", fixTime = now(), mocked = false),
                clock = CaptureClock(wallClock = now(), monotonicMs = 3_600_000uL),
                appVersion = "0.1.0-kotlin-test",
            )
        runBlocking { store.evidence().ingest(request, null, CancelHandle()) }
    }

    /** A visit walked to 待签字: every visible item answered (one failed, with its finding), the photos sealed. */
    private fun Fieldseal.pendingSignature(): Pair<InspectionSession, List<String>> {
        importRegister(File(repoRoot, "examples/register.json").readText())
        importTemplate(File(repoRoot, "examples/templates/hazardous-waste-storage.json").readText())
        val team =
            registerInspectors()
                .filter { it.certified && !LocalDate.parse(it.validFrom).isAfter(today) && !LocalDate.parse(it.validUntil).isBefore(today) }
                .take(2)
                .map { it.id }
        if (team.size < 2) fail("examples/register.json has fewer than two certificates valid on $today: refresh its dates")
        val session =
            createInspection(
                Task("T-2025-HW-0002", "危险废物贮存设施专项检查", TaskSource.CAMPAIGN, "ent-chem", "tpl.hazardous-waste.storage", today.toString()),
            )
        session.approve("科长 王立")
        session.schedule(today.toString())
        session.assignInspectors(team)
        session.prepareOffline()
        session.checkIn(Location(lat = SITE.lat, lon = SITE.lon, accuracyM = 8.0, provider = "gps", mocked = false))
        session.showCredentials("电子执法证二维码")
        session.answerRecusal(false, null)
        session.startRecording()
        val failed = session.checklist().items().first { it.answerType == "result" && "#" in it.id }.id
        repeat(10) {
            for (item in session.checklist().items().filter { it.visible && it.answer == null }) {
                session.setAnswer(item.id, answerFor(item, if (item.id == failed) ResultCode.FAIL else ResultCode.PASS), team[0], null)
            }
        }
        var seed = 0
        for (item in session.checklist().items()) {
            for (need in item.evidenceNeeded.filter { it.have < it.min }) {
                repeat((need.min - need.have).toInt()) { sealPhoto(this, session.id(), item.id, need.kind, team[0], seed++) }
            }
        }
        session.addFinding(
            NewFinding(failed, null, "危废贮存间导流沟破损，防渗层局部开裂。", emptyList(), emptyList(),
                Handling.RectifyByDeadline("修复导流沟及防渗层，并提交整改照片", today.plusDays(30).toString())),
        )
        for (blocker in session.blockers().filter { it.field != null }) {
            when (blocker.field) {
                "place" -> session.setHeader(HeaderField.PLACE, "危废贮存间及RTO装置区")
                "person_in_charge_name" -> session.setHeader(HeaderField.PERSON_IN_CHARGE_NAME, "李明")
                "person_in_charge_post" -> session.setHeader(HeaderField.PERSON_IN_CHARGE_POST, "安环部经理")
                "recorder_id" -> session.setHeader(HeaderField.RECORDER_ID, team[1])
                else -> fail("unexpected header blocker ${blocker.field}")
            }
        }
        assertEquals(InspectionState.PENDING_SIGNATURE, session.submitForSignature())
        return session to team
    }

    // ---- the signature pad ----

    /** One sample as a pad reports it: position in pad pixels, time, pressure 0–1, and whether the pen lifted after it. */
    private data class PenSample(val x: Float, val y: Float, val tMs: Long, val pressure: Float, val penUp: Boolean)

    /**
     * Handwriting as a 120 Hz pad delivers it: a few pen-down strokes of curved movement with jittered
     * timing, pressure rising after touch-down and falling before lift-off, 150–300 ms pen-up gaps.
     */
    private fun handwriting(seed: Long, pad: Pad): List<PenSample> {
        val random = Random(seed)
        val samples = mutableListOf<PenSample>()
        var t = 1_700_000_000_000L + random.nextInt(10_000)
        val strokes = 3 + random.nextInt(3)
        for (s in 0 until strokes) {
            val startX = pad.width.toFloat() * (0.1f + 0.8f * s / strokes)
            val startY = pad.height.toFloat() * (0.3f + 0.4f * random.nextFloat())
            val n = 30 + random.nextInt(40)
            val amplitude = pad.height.toFloat() * (0.15f + 0.15f * random.nextFloat())
            val run = pad.width.toFloat() * 0.6f / strokes
            for (i in 0 until n) {
                val u = i.toFloat() / (n - 1)
                val x = startX + run * u + 3f * random.nextGaussian().toFloat()
                val y = startY + amplitude * sin(2 * PI * (u * 1.5 + s * 0.3)).toFloat() + 2f * random.nextGaussian().toFloat()
                val pressure = (0.35f + 0.5f * sin(PI * u).toFloat() + 0.05f * random.nextFloat()).coerceIn(0f, 1f)
                samples += PenSample(x.coerceIn(0f, pad.width.toFloat()), y.coerceIn(0f, pad.height.toFloat()), t, pressure, penUp = i == n - 1)
                t += 7 + random.nextInt(3)
            }
            t += 150 + random.nextInt(150)
        }
        return samples
    }

    /** What the app's pad adapter does: integer pad pixels, milliseconds from the first sample, pressure 0–1023, a stroke per pen-down. */
    private fun strokesOf(samples: List<PenSample>, pad: Pad): Strokes {
        val t0 = samples.first().tMs
        val strokes = mutableListOf<List<StrokePoint>>()
        var current = mutableListOf<StrokePoint>()
        for (s in samples) {
            current += StrokePoint(x = s.x.roundToInt().toUInt(), y = s.y.roundToInt().toUInt(), t = (s.tMs - t0).toUInt(), p = (s.pressure * 1023).roundToInt().toUShort())
            if (s.penUp) {
                strokes += current
                current = mutableListOf()
            }
        }
        if (current.isNotEmpty()) strokes += current
        return Strokes(pad = pad, strokes = strokes)
    }

    private val pad = Pad(width = 1080u, height = 420u, dpi = 420u)

    private fun signature(seed: Long) = strokesOf(handwriting(seed, pad), pad)

    private fun clock() = CaptureClock(wallClock = now(), monotonicMs = 3_700_000uL, serverOffsetMs = -1_250L)

    private fun fix() = LocationFix(lat = SITE.lat, lon = SITE.lon, accuracyM = 6.0, provider = "fused", fixTime = now(), mocked = false)

    private fun RecordSession.signAs(view: RecordView, role: SignerRole, inspectorId: String?, seed: Long): EntrySummary =
        runBlocking { sign(view.recordId, view.documentHash, role, inspectorId, null, signature(seed), clock(), fix()) }

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

    private companion object {
        val SITE = GeoPoint(lat = 30.6049, lon = 121.0991)
    }
}
