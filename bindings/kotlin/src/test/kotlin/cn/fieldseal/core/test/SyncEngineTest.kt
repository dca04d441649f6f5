package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.time.LocalDate

/**
 * 同步 — the generated SyncEngine against the real intake binary on 127.0.0.1: the administrator
 * seeds intake through its admin API and issues an enrolment code, the device enrols, a whole
 * inspection is captured (real JPEGs sealed by ingest), and a pass moves the status read model
 * from pending to acknowledged while the test watches it; intake then holds every item, verified.
 */
class SyncEngineTest {
    @get:Rule val tmp = TemporaryFolder()

    private val visit by lazy { FieldVisit(File(tmp.root, "captures")) }

    private val unmetered = NetworkPolicy(state = NetworkState.UNMETERED, meteredLimitBytes = 50uL shl 20, allowLargeOnMetered = false)

    private fun openStore() = Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner())

    /**
     * The administrator's side: the example register and template published, a task for two
     * inspectors whose certificates the register says are valid today, and an enrolment code for
     * the first. Returns (team, code).
     */
    private fun LoopbackIntake.seed(task: Task): Pair<List<String>, String> {
        val register = Examples.read(Examples.REGISTER)
        adminOk("POST", "/admin/v1/register", register)
        adminOk("POST", "/admin/v1/templates", Examples.read(Examples.TEMPLATE))
        val team = Examples.validInspectorIds(register, visit.today).take(2)
        assertEquals("${Examples.REGISTER} needs two certificates valid on ${visit.today}", 2, team.size)
        val inspectors = team.joinToString(",") { "\"$it\"" }
        adminOk(
            "POST", "/admin/v1/tasks",
            """{"tasks": [{"id": "${task.id}", "title": "${task.title}", "source": "campaign", "enterprise_id": "${task.enterpriseId}",
               "template_id": "${task.templateId}", "planned_date": "${task.plannedDate}", "inspectors": [$inspectors]}]}""",
        )
        val issued = adminOk("POST", "/admin/v1/enrolment-codes", """{"inspector_id": "${team[0]}"}""")
        return team to (CODE.find(issued)?.groupValues?.get(1) ?: error("no code in $issued"))
    }

    /**
     * A pass with nothing to upload pulls what the administrator published: the register and the
     * template (none were imported from files) and the task, now a draft inspection in the task list.
     */
    private fun pullTask(store: Fieldseal, engine: SyncEngine, team: List<String>, task: Task): InspectionSession {
        assertTrue("nothing imported locally", store.registerInspectors().isEmpty())
        assertTrue(store.taskList().isEmpty())
        val pulled = runBlocking { engine.syncNow(unmetered, CancelHandle(), 30_000uL) }
        assertEquals(PassEnd.DONE, pulled.ended)
        assertNull(pulled.pullStopped)
        assertEquals(1uL, pulled.newTasks)
        val pulledTeam = store.registerInspectors().filter { it.id in team }
        assertEquals("the pulled register names the team", team.toSet(), pulledTeam.map { it.id }.toSet())
        assertTrue(
            "the pulled register says both certificates are valid today",
            pulledTeam.all { it.certified && !LocalDate.parse(it.validFrom).isAfter(visit.today) && !LocalDate.parse(it.validUntil).isBefore(visit.today) },
        )
        val row = store.taskList().single()
        assertEquals(task.title, row.title)
        assertEquals(task.enterpriseId, row.enterpriseId)
        assertEquals(InspectionState.DRAFT, row.state)
        return store.inspection(row.inspectionId)
    }

    /** The stage one item was seen at: only ever forward, pending → uploading → acknowledged. */
    private fun SyncItemState.stage(): Int = when (this) {
        is SyncItemState.Pending -> 0
        is SyncItemState.Uploading -> 1
        is SyncItemState.Acknowledged -> 2
        is SyncItemState.Wedged -> throw AssertionError("an item stopped for a person: ${reason.messageEn}")
        is SyncItemState.Discarded -> throw AssertionError("an item was discarded")
    }

    @Test
    fun `an enrolled device syncs a whole inspection and watches every item reach acknowledged`() {
        LoopbackIntake(tmp.newFolder("intake")).use { intake ->
            openStore().use { store ->
                val task = visit.task("T-SYNC-0001")
                val (team, code) = intake.seed(task)

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

                // The whole visit on the pulled task: check-in, answers, sealed JPEGs, a finding,
                // then the record built, signed by both inspectors and the party, and frozen.
                val session = pullTask(store, engine, team, task)
                val inspectionId = session.id()
                val captured = visit.walkToPendingSignature(store, session, team)
                val record = visit.signAndFreeze(store, inspectionId, team)
                assertEquals(InspectionState.SIGNED, session.state())

                val before = engine.status()
                assertTrue(before.enrolled)
                val expected = captured.size + 2 // the evidence, the record, the trail head after the freeze
                assertEquals(expected.toULong(), before.pending)
                assertEquals(captured.toSet(), before.items.filter { it.kind == OutboxKind.EVIDENCE }.map { it.objectId }.toSet())
                assertEquals(listOf(record.recordId), before.items.filter { it.kind == OutboxKind.RECORD }.map { it.objectId })
                val head = before.items.single { it.kind == OutboxKind.TRAIL_HEAD }
                assertTrue(head.objectId, head.objectId.startsWith("inspection:$inspectionId@"))
                assertTrue(before.items.all { it.state is SyncItemState.Pending && it.inspectionId == inspectionId })
                assertEquals(0uL, before.bytesDone)
                assertTrue(before.bytesTotal > 0uL)

                // A pass already cancelled sends nothing and says to run again.
                val cancel = CancelHandle().apply { cancel() }
                val cut = runBlocking { engine.syncNow(unmetered, cancel, 30_000uL) }
                assertEquals(PassEnd.CANCELLED, cut.ended)
                assertTrue(cut.moreWork)
                assertEquals(expected.toULong(), engine.status().pending)

                // The pass runs in a coroutine while the test reads the status read model as a
                // screen would, as often as it can.
                val seen = mutableListOf<SyncStatus>()
                val outcome = runBlocking {
                    withTimeout(120_000) {
                        val pass = async { engine.syncNow(unmetered, CancelHandle(), 120_000uL) }
                        while (!pass.isCompleted) {
                            seen += engine.status()
                            yield()
                        }
                        pass.await()
                    }
                }
                assertEquals(PassEnd.DONE, outcome.ended)
                assertEquals(expected.toULong(), outcome.acknowledged)
                assertEquals(0uL, outcome.remaining)
                assertFalse(outcome.moreWork)
                assertNull(outcome.runAgainInMs)

                val after = engine.status()
                seen += after
                assertTrue("every item acknowledged", after.items.all { it.state is SyncItemState.Acknowledged })
                assertEquals(expected.toULong(), after.acknowledged)
                assertEquals(after.bytesTotal, after.bytesDone)
                assertFalse(after.syncing)
                // Watched: each item only moves forward (pending → uploading → acknowledged), the
                // record not before its evidence, the trail head not before the record; bytes done
                // never pass the total and nothing stopped for a person on the way.
                val stages = seen.map { status -> status.items.associate { it.itemId to it.state.stage() } }
                for ((a, b) in stages.zipWithNext()) for ((id, stage) in a) assertTrue("item $id went back", stage <= b.getValue(id))
                assertTrue("the watcher saw an upload in flight", stages.any { it.containsValue(1) })
                val recordItem = before.items.single { it.kind == OutboxKind.RECORD }.itemId
                val evidenceItems = before.items.filter { it.kind == OutboxKind.EVIDENCE }.map { it.itemId }
                for (snapshot in stages) {
                    if (snapshot.getValue(recordItem) > 0) assertTrue("the record waits for its evidence", evidenceItems.all { snapshot.getValue(it) == 2 })
                    if (snapshot.getValue(head.itemId) > 0) assertEquals("the trail head waits for the record", 2, snapshot.getValue(recordItem))
                }
                assertTrue(seen.all { it.bytesDone <= it.bytesTotal && it.wedged == 0uL })
                assertEquals(expected.toULong(), store.status().outboxAcknowledged)

                // Every kept receipt verifies again under the intake key kept at enrolment.
                val receipts = engine.checkReceipts()
                assertEquals(expected, receipts.size)
                assertTrue(receipts.joinToString { "${it.objectId}: ${it.problem}" }, receipts.all { it.problem == null && it.receiptId != null })
                assertEquals(setOf(OutboxKind.EVIDENCE, OutboxKind.RECORD, OutboxKind.TRAIL_HEAD), receipts.map { it.kind }.toSet())

                // The trail head's receipt is the province's countersignature of the freeze's
                // anchor: the trail verification reports the strongest anchor.
                val trail = store.verifyTrail()
                assertTrue(trail.problems.joinToString { it.messageEn }, trail.allGood)
                assertEquals(AnchorStrength.COUNTERSIGNED, trail.anchorStrength)
                assertEquals(1uL, trail.anchorsCountersigned)

                // Intake holds each item, verified against the device key.
                val report = intake.adminOk("GET", "/admin/v1/report")
                for (id in captured) assertTrue("intake holds $id", "\"evidence_id\":\"$id\"" in report)
                assertTrue("intake holds the record", "\"object_id\":\"${record.recordId}\"" in report)
                assertTrue("intake holds the trail head", "\"object_id\":\"${head.objectId}\"" in report)
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
            openStore().use { store ->
                val task = visit.task("T-SYNC-0002")
                val (team, code) = intake.seed(task)
                val engine = store.syncEngine(SyncSettings(intake.baseUrl, null))
                runBlocking { engine.enrol(code, null) }
                val session = pullTask(store, engine, team, task)
                val captured = visit.walkToPendingSignature(store, session, team)

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
        val CODE = Regex(""""code"\s*:\s*"([^"]+)"""")
    }
}
