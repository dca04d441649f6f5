package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import java.awt.image.BufferedImage
import java.io.File
import java.time.LocalDate
import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.Random
import javax.imageio.ImageIO
import kotlin.math.PI
import kotlin.math.roundToInt
import kotlin.math.sin

/**
 * 现场检查 — the setup the inspection, record and sync tests share: the example register and
 * template, a visit walked the way the screens walk it (check-in, answers, real JPEGs sealed by
 * ingest, a finding with a deadline, the header), and the signature pad. [capturesDir] is where the
 * "camera" writes its JPEGs (a test's temporary folder).
 */
class FieldVisit(private val capturesDir: File, val today: LocalDate = LocalDate.now()) {
    fun ChecklistView.items(): List<ItemView> = sections.flatMap { it.items }

    /** The example register and the hazardous-waste template imported from files (an offline terminal). */
    fun importExamples(store: Fieldseal) {
        store.importRegister(Examples.read(Examples.REGISTER))
        store.importTemplate(Examples.read(Examples.TEMPLATE))
    }

    /** Two inspectors whose certificates the installation's register says are valid today. */
    fun validTeam(store: Fieldseal): List<String> {
        val valid = store.registerInspectors().filter {
            it.certified && !LocalDate.parse(it.validFrom).isAfter(today) && !LocalDate.parse(it.validUntil).isBefore(today)
        }
        if (valid.size < 2) fail("${Examples.REGISTER} has fewer than two certificates valid on $today: refresh its dates")
        return valid.take(2).map { it.id }
    }

    fun task(id: String) = Task(id, "危险废物贮存设施专项检查", TaskSource.CAMPAIGN, Examples.ENTERPRISE, Examples.TEMPLATE_ID, today.toString())

    fun now(): String = OffsetDateTime.now(ZoneOffset.ofHours(8)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)

    /** Seals a JPEG drawn here (distinct pixels per [seed], so no two captures are the same bytes). */
    fun EvidenceIngest.captureJpeg(inspectionId: String, itemId: String, kind: EvidenceKind, operator: String, seed: Int): IngestOutcome {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        val random = Random(seed.toLong())
        for (y in 0 until 240) for (x in 0 until 320) image.setRGB(x, y, random.nextInt(0xFFFFFF))
        val file = capturesDir.apply { mkdirs() }.resolve("IMG_$seed.jpg")
        assertTrue(ImageIO.write(image, "jpg", file))
        val request = IngestRequest(
            sourcePath = file.path,
            inspectionId = inspectionId,
            itemId = itemId,
            kind = kind,
            operator = operator,
            location = LocationFix(lat = Examples.SITE.lat, lon = Examples.SITE.lon, accuracyM = 8.0, provider = "gps", fixTime = now(), mocked = false),
            clock = CaptureClock(wallClock = now(), monotonicMs = 3_600_000uL),
            appVersion = "0.1.0-kotlin-test",
        )
        return runBlocking { ingest(request, null, CancelHandle()) }
    }

    /** A valid answer for an item, read from its answer type and limits. */
    fun answerFor(item: ItemView, result: ResultCode = ResultCode.PASS): AnswerValue =
        when (item.answerType) {
            "result" -> AnswerValue.Result(result, null)
            "number" -> AnswerValue.Number(item.min ?: item.max ?: 1.0)
            "text" -> AnswerValue.Text("导流沟局部破损约0.5米，收集池未见渗漏。")
            "single_choice" -> AnswerValue.SingleChoice(item.options.first().value)
            "multiple_choice" -> AnswerValue.MultipleChoice(item.options.take(2).map { it.value })
            "date" -> AnswerValue.Date(today.minusDays(10).toString())
            else -> throw AssertionError("unknown answer type ${item.answerType}")
        }

    /**
     * A draft inspection walked to 待签字 by [team]: approved, checked in on site, every visible item
     * answered (the first expanded facility item failed, with its finding and deadline), every photo
     * asked for sealed, the header completed. Returns the sealed evidence ids.
     */
    fun walkToPendingSignature(store: Fieldseal, session: InspectionSession, team: List<String>): List<String> {
        session.approve("科长 王立")
        session.schedule(today.toString())
        session.assignInspectors(team)
        assertEquals(InspectionState.READY_OFFLINE, session.prepareOffline())
        assertEquals(InspectionState.ON_SITE, session.checkIn(Examples.SITE_FIX))
        session.showCredentials("电子执法证二维码")
        session.answerRecusal(false, null)
        assertEquals(InspectionState.RECORDING, session.startRecording())

        val failed = session.checklist().items().first { it.answerType == "result" && "#" in it.id }.id
        // Answering may reveal items (a failed facility asks for its leak detail): read again until none is left.
        repeat(10) {
            for (item in session.checklist().items().filter { it.visible && it.answer == null }) {
                session.setAnswer(item.id, answerFor(item, if (item.id == failed) ResultCode.FAIL else ResultCode.PASS), team[0], null)
            }
        }
        val evidence = store.evidence()
        val captured = mutableListOf<String>()
        for (item in session.checklist().items()) {
            for (need in item.evidenceNeeded.filter { it.have < it.min }) {
                repeat((need.min - need.have).toInt()) {
                    captured += evidence.captureJpeg(session.id(), item.id, need.kind, team[0], seed = captured.size).evidenceId
                }
            }
        }
        session.addFinding(
            NewFinding(
                itemId = failed, category = null, description = "危废贮存间导流沟破损，防渗层局部开裂。",
                legalBasis = emptyList(), evidenceIds = emptyList(),
                handling = Handling.RectifyByDeadline("修复导流沟及防渗层，并提交整改照片", today.plusDays(30).toString()),
            ),
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
        assertTrue("the walk captured evidence", captured.isNotEmpty())
        return captured
    }

    // ---- the signature pad ----

    val pad = Pad(width = 1080u, height = 420u, dpi = 420u)

    /** Handwriting as a 120 Hz pad delivers it, turned into strokes as the app's pad adapter does. */
    fun signature(seed: Long): Strokes = SignaturePad.strokesOf(SignaturePad.handwriting(seed, pad), pad)

    fun clock() = CaptureClock(wallClock = now(), monotonicMs = 3_700_000uL, serverOffsetMs = -1_250L)

    fun fix() = LocationFix(lat = Examples.SITE.lat, lon = Examples.SITE.lon, accuracyM = 6.0, provider = "fused", fixTime = now(), mocked = false)

    fun RecordSession.signAs(view: RecordView, role: SignerRole, inspectorId: String?, seed: Long): EntrySummary =
        runBlocking { sign(view.recordId, view.documentHash, role, inspectorId, null, signature(seed), clock(), fix()) }

    /** 现场检查笔录: built, signed by both inspectors and the party, frozen. */
    fun signAndFreeze(store: Fieldseal, inspectionId: String, team: List<String>): RecordView {
        val records = store.records(inspectionId)
        val built = records.build(PartyStatement(objection = false, text = "以上笔录属实"), true, null)
        records.signAs(built, SignerRole.INSPECTOR, team[0], seed = 11)
        records.signAs(built, SignerRole.INSPECTOR, team[1], seed = 12)
        records.signAs(built, SignerRole.PARTY, null, seed = 13)
        val frozen = runBlocking { records.freeze(built.recordId) }
        assertTrue(frozen.frozen)
        assertEquals(built.documentHash, frozen.documentHash)
        return frozen
    }
}

/** The repository's example register and templates, found by walking up from the working directory. */
object Examples {
    const val REGISTER = "examples/register.json"
    const val TEMPLATE = "examples/templates/hazardous-waste-storage.json"
    const val TEMPLATE_ID = "tpl.hazardous-waste.storage"
    const val ENTERPRISE = "ent-chem"

    /** The chemical plant's registered site in the example register. */
    val SITE = GeoPoint(lat = 30.6049, lon = 121.0991)
    val SITE_FIX = Location(lat = SITE.lat, lon = SITE.lon, accuracyM = 8.0, provider = "gps", mocked = false)

    /** The harness runs from the repository root; walking up also finds it from a sub-folder. */
    val repoRoot: File by lazy {
        generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
            .firstOrNull { File(it, REGISTER).isFile }
            ?: error("$REGISTER not found above ${System.getProperty("user.dir")}")
    }

    fun read(path: String): String = File(repoRoot, path).readText()

    /**
     * The administrator's own reading of the register it publishes: ids of the certified
     * inspectors valid on [day]. The register's inspector entries are flat objects, so a pattern
     * per entry is enough here (the test classpath has no JSON library); the device checks the same
     * team against the register it pulled.
     */
    fun validInspectorIds(registerJson: String, day: LocalDate): List<String> {
        val inspectors = registerJson.substringAfter("\"inspectors\"").substringAfter('[').substringBefore(']')
        fun field(entry: String, name: String) = Regex(""""$name"\s*:\s*"?([^",}]+)"?""").find(entry)?.groupValues?.get(1)?.trim()
        return Regex("""\{[^{}]*\}""").findAll(inspectors).map { it.value }.filter { entry ->
            field(entry, "certified") == "true" &&
                !LocalDate.parse(field(entry, "valid_from")).isAfter(day) &&
                !LocalDate.parse(field(entry, "valid_until")).isBefore(day)
        }.mapNotNull { field(it, "id") }.toList()
    }
}

/** A simulated signature pad: realistic pen samples and the app adapter's conversion to strokes. */
object SignaturePad {
    /** One sample as a pad reports it: position in pad pixels, time, pressure 0–1, and whether the pen lifted after it. */
    data class PenSample(val x: Float, val y: Float, val tMs: Long, val pressure: Float, val penUp: Boolean)

    /**
     * Handwriting as a 120 Hz pad delivers it: a few pen-down strokes of curved movement with jittered
     * timing, pressure rising after touch-down and falling before lift-off, 150–300 ms pen-up gaps.
     */
    fun handwriting(seed: Long, pad: Pad): List<PenSample> {
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
    fun strokesOf(samples: List<PenSample>, pad: Pad): Strokes {
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
}
