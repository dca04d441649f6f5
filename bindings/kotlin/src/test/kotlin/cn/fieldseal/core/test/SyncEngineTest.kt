package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.awt.image.BufferedImage
import java.io.File
import java.time.LocalDate
import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.Random
import javax.imageio.ImageIO

/**
 * 同步 — the generated SyncEngine against the real intake binary on 127.0.0.1: the administrator
 * seeds intake through its admin API and issues an enrolment code, the device enrols, a whole
 * inspection is captured (real JPEGs sealed by ingest), and a pass moves the status read model
 * from pending to acknowledged while the test watches it; intake then holds every item, verified.
 */
class SyncEngineTest {
    @get:Rule val tmp = TemporaryFolder()

    private val today: LocalDate = LocalDate.now()

    private val repoRoot: File by lazy {
        generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
            .firstOrNull { File(it, "examples/register.json").isFile }
            ?: error("examples/register.json not found above ${System.getProperty("user.dir")}")
    }

    private fun example(path: String) = File(repoRoot, path).readText()

    private val unmetered = NetworkPolicy(state = NetworkState.UNMETERED, meteredLimitBytes = 50uL shl 20, allowLargeOnMetered = false)

    /** The administrator's side: register, template and a task for [team], and a code for team[0]. */
    private fun LoopbackIntake.seed(team: List<String>, task: Task): String {
        adminOk("POST", "/admin/v1/register", example("examples/register.json"))
        adminOk("POST", "/admin/v1/templates", example("examples/templates/hazardous-waste-storage.json"))
        val inspectors = team.joinToString(",") { "\"$it\"" }
        adminOk(
            "POST", "/admin/v1/tasks",
            """{"tasks": [{"id": "${task.id}", "title": "${task.title}", "source": "campaign", "enterprise_id": "${task.enterpriseId}",
               "template_id": "${task.templateId}", "planned_date": "${task.plannedDate}", "inspectors": [$inspectors]}]}""",
        )
        val issued = adminOk("POST", "/admin/v1/enrolment-codes", """{"inspector_id": "${team[0]}"}""")
        return CODE.find(issued)?.groupValues?.get(1) ?: error("no code in $issued")
    }

    private fun validTeam(store: Fieldseal): List<String> {
        store.importRegister(example("examples/register.json"))
        store.importTemplate(example("examples/templates/hazardous-waste-storage.json"))
        val valid = store.registerInspectors().filter {
            it.certified && !LocalDate.parse(it.validFrom).isAfter(today) && !LocalDate.parse(it.validUntil).isBefore(today)
        }
        assertTrue("examples/register.json needs two certificates valid on $today", valid.size >= 2)
        return valid.take(2).map { it.id }
    }

    private fun EvidenceIngest.captureJpeg(inspectionId: String, itemId: String, kind: EvidenceKind, operator: String, seed: Int): IngestOutcome {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        val random = Random(seed.toLong())
        for (y in 0 until 240) for (x in 0 until 320) image.setRGB(x, y, random.nextInt(0xFFFFFF))
        val file = File(tmp.root, "captures").apply { mkdirs() }.resolve("IMG_$seed.jpg")
        assertTrue(ImageIO.write(image, "jpg", file))
        val now = OffsetDateTime.now(ZoneOffset.ofHours(8)).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)
        val request = IngestRequest(
            sourcePath = file.path,
            inspectionId = inspectionId,
            itemId = itemId,
            kind = kind,
            operator = operator,
            location = LocationFix(lat = SITE_FIX.lat, lon = SITE_FIX.lon, accuracyM = 8.0, provider = "gps", fixTime = now, mocked = false),
            clock = CaptureClock(wallClock = now, monotonicMs = 3_600_000uL),
            appVersion = "0.1.0-kotlin-test",
        )
        return runBlocking { ingest(request, null, CancelHandle()) }
    }

    private fun answerFor(item: ItemView, failed: Boolean): AnswerValue =
        when (item.answerType) {
            "result" -> AnswerValue.Result(if (failed) ResultCode.FAIL else ResultCode.PASS, null)
            "number" -> AnswerValue.Number(item.min ?: item.max ?: 1.0)
            "text" -> AnswerValue.Text("导流沟局部破损约0.5米，收集池未见渗漏。")
            "single_choice" -> AnswerValue.SingleChoice(item.options.first().value)
            "multiple_choice" -> AnswerValue.MultipleChoice(item.options.take(2).map { it.value })
            "date" -> AnswerValue.Date(today.minusDays(10).toString())
            else -> throw AssertionError("unknown answer type ${item.answerType}")
        }

    /** Check-in, answers (one failed item with its finding and deadline), every photo asked for. */
    private fun runInspection(store: Fieldseal, team: List<String>, task: Task): Pair<String, List<String>> {
        val session = store.createInspection(task)
        session.approve("科长 王立")
        session.schedule(today.toString())
        session.assignInspectors(team)
        assertEquals(InspectionState.READY_OFFLINE, session.prepareOffline())
        assertEquals(InspectionState.ON_SITE, session.checkIn(SITE_FIX))
        session.showCredentials("电子执法证二维码")
        session.answerRecusal(false, null)
        assertEquals(InspectionState.RECORDING, session.startRecording())

        val items = { session.checklist().sections.flatMap { it.items } }
        val failedItem = items().first { it.answerType == "result" && "#" in it.id }.id
        repeat(10) {
            for (item in items().filter { it.visible && it.answer == null }) {
                session.setAnswer(item.id, answerFor(item, item.id == failedItem), team[0], null)
            }
        }
        val evidence = store.evidence()
        val captured = mutableListOf<String>()
        for (item in items()) {
            for (need in item.evidenceNeeded.filter { it.have < it.min }) {
                repeat((need.min - need.have).toInt()) {
                    captured += evidence.captureJpeg(session.id(), item.id, need.kind, team[0], seed = captured.size).evidenceId
                }
            }
        }
        session.addFinding(
            NewFinding(
                itemId = failedItem, category = null, description = "危废贮存间导流沟破损，防渗层局部开裂。",
                legalBasis = emptyList(), evidenceIds = emptyList(),
                handling = Handling.RectifyByDeadline("修复导流沟及防渗层，并提交整改照片", today.plusDays(30).toString()),
            ),
        )
        for (blocker in session.blockers().filter { it.field != null }) {
            val (field, value) = when (blocker.field) {
                "place" -> HeaderField.PLACE to "危废贮存间及RTO装置区"
                "person_in_charge_name" -> HeaderField.PERSON_IN_CHARGE_NAME to "李明"
                "person_in_charge_post" -> HeaderField.PERSON_IN_CHARGE_POST to "安环部经理"
                "recorder_id" -> HeaderField.RECORDER_ID to team[1]
                else -> throw AssertionError("unexpected header blocker ${blocker.field}")
            }
            session.setHeader(field, value)
        }
        assertEquals(InspectionState.PENDING_SIGNATURE, session.submitForSignature())
        assertTrue("the walk captured evidence", captured.isNotEmpty())
        return session.id() to captured
    }

    @Test
    fun `an enrolled device syncs a whole inspection and watches every item reach acknowledged`() {
        LoopbackIntake(tmp.newFolder("intake")).use { intake ->
            Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner()).use { store ->
                val team = validTeam(store)
                val task = Task("T-SYNC-0001", "危险废物贮存设施专项检查", TaskSource.CAMPAIGN, ENTERPRISE, TEMPLATE_ID, today.toString())
                val code = intake.seed(team, task)
                val (inspectionId, captured) = runInspection(store, team, task)

                val engine = store.syncEngine(SyncSettings(intakeUrl = intake.baseUrl, provinceCaPem = null))
                assertNull("not enrolled yet", engine.enrolment())
                val refused = assertFails<FieldsealException.Network> {
                    runBlocking { engine.syncNow(unmetered, CancelHandle(), 10_000uL) }
                }
                assertEquals("sync.not_enrolled", refused.code())
                assertWellExplained(refused)

                val enrolled = runBlocking { engine.enrol(code, "kotlin jvm test") }
                assertEquals(team[0], enrolled.inspectorId)
                assertEquals(intake.baseUrl, enrolled.intakeUrl)

                val before = engine.status()
                assertTrue(before.enrolled)
                assertEquals(captured.size.toULong(), before.pending)
                assertEquals(captured.toSet(), before.items.map { it.objectId }.toSet())
                assertTrue(before.items.all { it.state is SyncItemState.Pending && it.inspectionId == inspectionId })
                assertEquals(0uL, before.bytesDone)
                assertTrue(before.bytesTotal > 0uL)

                // A pass already cancelled sends nothing and says to run again.
                val cancel = CancelHandle().apply { cancel() }
                val cut = runBlocking { engine.syncNow(unmetered, cancel, 30_000uL) }
                assertEquals(PassEnd.CANCELLED, cut.ended)
                assertTrue(cut.moreWork)

                // The pass runs in a coroutine while the test reads the status read model.
                val seen = mutableListOf<SyncStatus>()
                val outcome = runBlocking {
                    withTimeout(60_000) {
                        val pass = async { engine.syncNow(unmetered, CancelHandle(), 60_000uL) }
                        while (!pass.isCompleted) {
                            seen += engine.status()
                            delay(5)
                        }
                        pass.await()
                    }
                }
                assertEquals(PassEnd.DONE, outcome.ended)
                assertEquals(captured.size.toULong(), outcome.acknowledged)
                assertEquals(0uL, outcome.remaining)
                assertFalse(outcome.moreWork)
                assertNull(outcome.runAgainInMs)

                val after = engine.status()
                seen += after
                assertTrue("every item acknowledged", after.items.all { it.state is SyncItemState.Acknowledged })
                assertEquals(captured.size.toULong(), after.acknowledged)
                assertEquals(after.bytesTotal, after.bytesDone)
                assertFalse(after.syncing)
                // Watched: acknowledged only ever grows, bytes done never pass the total, and
                // nothing stopped for a person on the way.
                for ((a, b) in seen.zipWithNext()) assertTrue(a.acknowledged <= b.acknowledged)
                assertTrue(seen.all { it.bytesDone <= it.bytesTotal && it.wedged == 0uL })
                assertEquals(captured.size.toULong(), store.status().outboxAcknowledged)

                // Intake holds each item, verified against the device key.
                val report = intake.adminOk("GET", "/admin/v1/report")
                for (id in captured) assertTrue("intake holds $id", "\"evidence_id\":\"$id\"" in report)
                assertFalse("intake verified everything", "\"verified\":false" in report)

                // Nothing is left: a background pass has nothing to do and nothing to schedule.
                val idle = runBlocking { engine.backgroundPass(unmetered, 10_000uL) }
                assertEquals(0uL, idle.acknowledged)
                assertFalse(idle.moreWork)
            }
        }
    }

    @Test
    fun `offline the background pass sends nothing and waits for the network`() {
        LoopbackIntake(tmp.newFolder("intake")).use { intake ->
            Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner()).use { store ->
                val team = validTeam(store)
                val task = Task("T-SYNC-0002", "危险废物贮存设施专项检查", TaskSource.CAMPAIGN, ENTERPRISE, TEMPLATE_ID, today.toString())
                val code = intake.seed(team, task)
                val (_, captured) = runInspection(store, team, task)
                val engine = store.syncEngine(SyncSettings(intake.baseUrl, null))
                runBlocking { engine.enrol(code, null) }

                val offline = NetworkPolicy(NetworkState.OFFLINE, 50uL shl 20, false)
                val outcome = runBlocking { engine.backgroundPass(offline, 10_000uL) }
                assertEquals(PassEnd.OFFLINE, outcome.ended)
                assertEquals(captured.size.toULong(), outcome.remaining)
                assertTrue(outcome.moreWork)
                assertNull("only a network change helps", outcome.runAgainInMs)
                assertTrue(engine.status().items.all { it.attempts == 0u && it.state is SyncItemState.Pending })
                assertFalse("intake received nothing", "evidence_id" in intake.adminOk("GET", "/admin/v1/report"))

                // A stopped item does not exist, so a retry is refused with a reason a person reads.
                val e = assertFails<FieldsealException.NotAllowed> { engine.retry(engine.status().items.first().itemId) }
                assertEquals("sync.item_not_wedged", e.rule)
                assertWellExplained(e)
            }
        }
    }

    private companion object {
        const val TEMPLATE_ID = "tpl.hazardous-waste.storage"
        const val ENTERPRISE = "ent-chem"
        val SITE_FIX = Location(lat = 30.6049, lon = 121.0991, accuracyM = 8.0, provider = "gps", mocked = false)
        val CODE = Regex(""""code"\s*:\s*"([^"]+)"""")
    }
}
