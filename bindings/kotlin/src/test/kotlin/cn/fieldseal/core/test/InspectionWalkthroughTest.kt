package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import kotlinx.coroutines.runBlocking
import java.io.File
import java.time.LocalDate

/**
 * 清单式检查 — a whole inspection walked through the generated bindings with the example register and
 * the hazardous-waste storage template, and the refusals (requirements 1 and 3, limits, order) each
 * leaving the stored inspection exactly as it was.
 */
class InspectionWalkthroughTest {
    @get:Rule val tmp = TemporaryFolder()

    private val visit by lazy { FieldVisit(File(tmp.root, "captures")) }

    private val today: LocalDate get() = visit.today

    private fun openStore() = Fieldseal.open(File(tmp.root, "data").path, AesGcmKeyVault(), EcDeviceSigner())

    private fun example(path: String) = Examples.read(path)

    /** Imports the example register and template; returns the register's inspectors. */
    private fun Fieldseal.loadExamples(): List<RegisterInspector> {
        val register = importRegister(example("examples/register.json"))
        assertTrue("register version", register.version.isNotBlank())
        assertEquals("content hash is SHA-256 hex", 64, register.contentHash.length)
        assertTrue(register.inspectors > 0u && register.enterprises > 0u && register.permits > 0u)
        val template = importTemplate(example("examples/templates/hazardous-waste-storage.json"))
        assertEquals(TEMPLATE_ID, template.id)
        assertTrue(template.sections > 0u && template.items > 0u)
        return registerInspectors()
    }

    /** Certificates valid today, judged here from the register's dates (not by the core). */
    private fun List<RegisterInspector>.validToday(): List<RegisterInspector> {
        val valid = filter {
            it.certified && !LocalDate.parse(it.validFrom).isAfter(today) && !LocalDate.parse(it.validUntil).isBefore(today)
        }
        if (valid.size < 2) fail("examples/register.json has fewer than two certificates valid on $today: refresh its dates")
        return valid
    }

    private fun Fieldseal.newInspection(): InspectionSession =
        createInspection(
            Task(
                id = "T-2025-HW-0001",
                title = "危险废物贮存设施专项检查",
                source = TaskSource.CAMPAIGN,
                enterpriseId = ENTERPRISE,
                templateId = TEMPLATE_ID,
                plannedDate = today.toString(),
            ),
        )

    /** Draft → … → ready offline with [team]. */
    private fun InspectionSession.readyOffline(team: List<String>) {
        assertEquals(InspectionState.APPROVED, approve("科长 王立"))
        assertEquals(InspectionState.SCHEDULED, schedule(today.toString()))
        assertEquals(InspectionState.SCHEDULED, assignInspectors(team))
        assertEquals(InspectionState.READY_OFFLINE, prepareOffline())
    }

    /** Ready offline → on site → credentials → recusal declined → recording. */
    private fun InspectionSession.arriveAndRecord() {
        assertEquals(InspectionState.ON_SITE, checkIn(SITE_FIX))
        assertEquals(InspectionState.ON_SITE, showCredentials("电子执法证二维码"))
        assertEquals(InspectionState.ON_SITE, answerRecusal(false, null))
        assertEquals(InspectionState.RECORDING, startRecording())
    }

    private fun Fieldseal.recordingInspection(): Pair<InspectionSession, List<String>> {
        val team = loadExamples().validToday().take(2).map { it.id }
        val session = newInspection()
        session.readyOffline(team)
        session.arriveAndRecord()
        return session to team
    }

    private fun EvidenceIngest.captureJpeg(inspectionId: String, itemId: String, kind: EvidenceKind, operator: String, seed: Int): IngestOutcome =
        with(visit) { captureJpeg(inspectionId, itemId, kind, operator, seed) }

    private fun ChecklistView.items(): List<ItemView> = sections.flatMap { it.items }

    private fun ChecklistView.item(id: String): ItemView = items().single { it.id == id }

    /** A valid answer for an item, read from its answer type and limits. */
    private fun validAnswer(item: ItemView, result: ResultCode = ResultCode.PASS): AnswerValue = visit.answerFor(item, result)

    /** Everything a screen would compare to see that a refused call changed nothing. */
    private data class Snapshot(
        val state: InspectionState,
        val checklist: ChecklistView,
        val header: Any,
        val findings: Any,
        val trail: Any,
    )

    private fun InspectionSession.snapshot() = Snapshot(state(), checklist(), header(), findings(), trail())

    /** [block] must fail with [E]; the stored inspection, its checklist and its trail stay as they were. */
    private inline fun <reified E : FieldsealException> InspectionSession.refused(block: () -> Unit): E {
        val before = snapshot()
        val e = assertFails<E> { block() }
        assertEquals("a refused call saved nothing", before, snapshot())
        return e
    }

    private fun FieldsealException.NotAllowed.assertRule(expected: String) = assertEquals("rule", expected, rule)

    @Test
    fun `a whole inspection goes from draft to pending signature with every visible item answered`() {
        openStore().use { store ->
            val team = store.loadExamples().validToday().take(2).map { it.id }
            val session = store.newInspection()
            assertEquals(InspectionState.DRAFT, session.state())
            assertEquals(session.id(), store.taskList().single().inspectionId)

            session.readyOffline(team)
            val prepared = session.checklist()
            assertEquals("template version frozen into the inspection", "2025.1", prepared.templateVersion)
            assertTrue("register version frozen into the inspection", prepared.registerVersion.isNotBlank())
            assertTrue("the template expanded over the permit's facilities", prepared.items().any { "#" in it.id })
            session.arriveAndRecord()

            // Fail the first expanded facility item; pass the rest. Answering may reveal new items
            // (the leak detail shows when a facility fails), so read the view again until none is left.
            val failedItem = session.checklist().items().first { it.answerType == "result" && "#" in it.id }.id
            val answered = mutableSetOf<String>()
            repeat(10) {
                val open = session.checklist().items().filter { it.visible && it.answer == null }
                for (item in open) {
                    val result = if (item.id == failedItem) ResultCode.FAIL else ResultCode.PASS
                    session.setAnswer(item.id, validAnswer(item, result), team[0], null)
                    answered += item.id
                }
            }
            val view = session.checklist()
            assertTrue("every visible item is answered", view.items().filter { it.visible }.all { it.answer != null })
            assertTrue("a conditional item was revealed and answered", view.items().any { it.visible && it.id.startsWith("hw.leak_detail#") })
            assertTrue("an optional item was answered too", view.items().any { !it.required && it.visible && it.answer != null })
            assertTrue("hidden items stay unanswered", view.items().filter { !it.visible }.all { it.answer == null })
            assertEquals(view.items().filter { it.visible }.map { it.id }.toSet(), answered)
            assertEquals(view.progress.required, view.progress.answered)

            // The failed item asks for its photos and its finding before it is complete.
            val failed = view.item(failedItem)
            assertEquals("不合格", failed.answerDisplay)
            assertTrue(failed.state == ItemState.NEEDS_EVIDENCE || failed.state == ItemState.NEEDS_FINDING)
            assertNotNull("the item says what to fix", failed.message?.zh)
            assertTrue(session.blockers().any { it.rule == "item.finding_missing" && it.item == failedItem })

            // Evidence counts move only with a sealed capture: photograph each item that asks for
            // evidence, a real JPEG per capture, through the same ingest the camera screen uses.
            val evidence = store.evidence()
            var captures = 0
            for (item in view.items()) {
                for (need in item.evidenceNeeded.filter { it.have < it.min }) {
                    repeat((need.min - need.have).toInt()) {
                        val sealed = evidence.captureJpeg(session.id(), item.id, need.kind, team[0], seed = captures++)
                        assertFalse(sealed.alreadySealed)
                    }
                }
            }
            assertTrue("the walk needed evidence", captures > 0)
            assertFalse(session.blockers().any { it.rule == "item.evidence_missing" })
            assertEquals(captures, evidence.list(session.id()).size)

            val deadline = today.plusDays(30).toString()
            val findingId =
                session.addFinding(
                    NewFinding(
                        itemId = failedItem,
                        category = null,
                        description = "危废贮存间导流沟破损，防渗层局部开裂。",
                        legalBasis = emptyList(),
                        evidenceIds = emptyList(),
                        handling = Handling.RectifyByDeadline("修复导流沟及防渗层，并提交整改照片", deadline),
                    ),
                )
            val finding = session.findings().single()
            assertEquals(findingId, finding.id)
            assertEquals(Handling.RectifyByDeadline("修复导流沟及防渗层，并提交整改照片", deadline), finding.handling)
            assertTrue("legal basis defaulted from the finding template", finding.legalBasis.isNotEmpty())
            assertEquals(ProblemState.IDENTIFIED, finding.problemState)
            assertEquals(ItemState.COMPLETE, session.checklist().item(failedItem).state)

            // The header fields the blockers still ask for.
            val missing = session.blockers().filter { it.field != null }
            assertTrue("the header needs the place, the person in charge and the recorder", missing.isNotEmpty())
            for (blocker in missing) {
                val field = HEADER_FIELDS[blocker.field] ?: throw AssertionError("unexpected header blocker ${blocker.field}")
                session.setHeader(field, headerValue(field, team))
            }
            assertEquals("nothing stands in the way of signature", emptyList<Any>(), session.blockers())

            assertEquals(InspectionState.PENDING_SIGNATURE, session.submitForSignature())
            assertEquals(InspectionState.PENDING_SIGNATURE, store.inspection(session.id()).state())
            assertEquals(emptyList<Any>(), session.blockers())
            assertTrue(session.header().endedAt != null)

            // The problem moves on while the record waits for signatures.
            assertEquals(
                InspectionState.PENDING_SIGNATURE,
                session.advanceProblem(findingId, ProblemAction.IssueOrder("环责改〔2025〕17号", "危废贮存间防渗层破损")),
            )
            assertEquals(ProblemState.ORDER_ISSUED, session.findings().single().problemState)
            assertEquals(1u, store.taskList().single().openFindings)

            val trail = session.trail()
            assertTrue("the trail has the walk in it", trail.size > answered.size)
            assertEquals((1L..trail.size.toLong()).toList(), trail.map { it.seq })
            for ((prev, next) in trail.zipWithNext()) assertEquals("hash chain", prev.hash, next.prevHash)
            val kinds = trail.map { it.kind }
            for (kind in listOf(
                "inspection.created", "inspection.approved", "inspection.inspectors_assigned", "inspection.ready_offline",
                "inspection.checked_in", "inspection.credentials_shown", "inspection.recusal_answered",
                "inspection.recording_started", "inspection.answer_set", "inspection.finding_added",
                "inspection.header_set", "inspection.submitted_for_signature", "inspection.problem_advanced",
            )) {
                assertTrue("trail has $kind", kind in kinds)
            }
        }
    }

    @Test
    fun `check-in with a single inspector is refused as fewer than two valid certificates`() {
        openStore().use { store ->
            val one = store.loadExamples().validToday().first().id
            val session = store.newInspection()
            session.readyOffline(listOf(one))
            val e = session.refused<FieldsealException.NotAllowed> { session.checkIn(SITE_FIX) }
            e.assertRule("inspectors.fewer_than_two_valid")
            assertEquals(InspectionState.READY_OFFLINE, session.state())
        }
    }

    @Test
    fun `the same certificate twice is refused by name`() {
        openStore().use { store ->
            val one = store.loadExamples().validToday().first().id
            val session = store.newInspection()
            val e = session.refused<FieldsealException.InvalidInput> { session.assignInspectors(listOf(one, one)) }
            assertEquals("certificate.duplicate", e.reason)
            assertEquals("inspector:$one", e.field)
        }
    }

    @Test
    fun `an expired certificate is refused by name`() {
        openStore().use { store ->
            val inspectors = store.loadExamples()
            val valid = inspectors.validToday().first().id
            val expired = inspectors.first { it.certified && LocalDate.parse(it.validUntil).isBefore(today) }
            assertEquals("the register view agrees", "certificate.expired", expired.certificateProblemToday)
            val session = store.newInspection()
            session.approve("科长 王立")
            session.schedule(today.toString())
            val e = session.refused<FieldsealException.InvalidInput> { session.assignInspectors(listOf(valid, expired.id)) }
            assertEquals("certificate.expired", e.reason)
            assertEquals("inspector:${expired.id}", e.field)
        }
    }

    @Test
    fun `not checked without a reason is refused and with a reason accepted`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.checklist().items().first { it.visible && it.answerType == "result" }.id
            for (reason in listOf(null, "   ")) {
                val e = session.refused<FieldsealException.InvalidInput> {
                    session.setAnswer(item, AnswerValue.Result(ResultCode.NOT_CHECKED, reason), team[0], null)
                }
                assertEquals("answer.not_checked.reason_required", e.reason)
                assertEquals(item, e.field)
            }
            session.setAnswer(item, AnswerValue.Result(ResultCode.NOT_CHECKED, "贮存间上锁，钥匙保管人不在现场"), team[0], null)
            assertEquals("未检查", session.checklist().item(item).answerDisplay)
        }
    }

    @Test
    fun `an answer outside its limits is refused`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.checklist().items().first { it.visible && it.answerType == "number" && it.max != null }
            val max = item.max!!
            val e = session.refused<FieldsealException.InvalidInput> {
                session.setAnswer(item.id, AnswerValue.Number(max + 1), team[0], null)
            }
            assertEquals("answer.number.above_max", e.reason)
            val min = item.min!!
            session.refused<FieldsealException.InvalidInput> { session.setAnswer(item.id, AnswerValue.Number(min - 1), team[0], null) }
            val wrongType = session.refused<FieldsealException.InvalidInput> {
                session.setAnswer(item.id, AnswerValue.Text("很多"), team[0], null)
            }
            assertEquals("answer.type_mismatch", wrongType.reason)
            val badOption = session.checklist().items().first { it.visible && it.answerType == "single_choice" }
            val unknown = session.refused<FieldsealException.InvalidInput> {
                session.setAnswer(badOption.id, AnswerValue.SingleChoice("no-such-option"), team[0], null)
            }
            assertEquals("answer.choice.unknown_option", unknown.reason)
            session.setAnswer(item.id, AnswerValue.Number(max), team[0], null)
            assertEquals("limits are inclusive", AnswerValue.Number(max), session.checklist().item(item.id).answer)
        }
    }

    @Test
    fun `changing an answer needs a reason and the correction stays visible`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.checklist().items().first { it.visible && it.answerType == "result" }.id
            session.setAnswer(item, AnswerValue.Result(ResultCode.PASS, null), team[0], null)
            val e = session.refused<FieldsealException.InvalidInput> {
                session.setAnswer(item, AnswerValue.Result(ResultCode.NOT_APPLICABLE, null), team[1], null)
            }
            assertEquals("answer.change.reason_required", e.reason)
            session.setAnswer(item, AnswerValue.Result(ResultCode.NOT_APPLICABLE, null), team[1], "该设施已停用并拆除")
            val view = session.checklist().item(item)
            assertEquals(1u, view.corrections)
            assertTrue("inspection.answer_changed" in session.trail().map { it.kind })
        }
    }

    @Test
    fun `submit for signature with unanswered required items is refused and the blockers name them`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val items = session.checklist().items()
            val first = items.first { it.visible && it.required }
            session.setAnswer(first.id, validAnswer(first), team[0], null)
            val unanswered = session.checklist().items().filter { it.visible && it.required && it.answer == null }.map { it.id }
            assertTrue(unanswered.isNotEmpty())

            val e = session.refused<FieldsealException.NotAllowed> { session.submitForSignature() }
            assertEquals("domain.blocked", e.code)
            val blockers = session.blockers()
            assertEquals(
                "each unanswered required item is named",
                unanswered.toSet(),
                blockers.filter { it.rule == "item.unanswered" }.mapNotNull { it.item }.toSet(),
            )
            assertFalse("an answered item is not", blockers.any { it.rule == "item.unanswered" && it.item == first.id })
            assertTrue("header gaps are named by field", blockers.any { it.rule == "header.field.missing" && it.field == "place" })
            assertTrue(blockers.all { it.message.zh.isNotBlank() && it.message.en.isNotBlank() })
            assertEquals(InspectionState.RECORDING, session.state())
        }
    }

    @Test
    fun `a transition out of order is refused`() {
        openStore().use { store ->
            store.loadExamples()
            val session = store.newInspection()
            for (call in listOf<() -> Unit>(
                { session.startRecording() },
                { session.checkIn(SITE_FIX) },
                { session.submitForSignature() },
                { session.prepareOffline() },
                { session.closeOnSite(null) },
            )) {
                session.refused<FieldsealException.NotAllowed> { call() }.assertRule("inspection.transition")
            }
            session.approve("科长 王立")
            session.refused<FieldsealException.NotAllowed> { session.approve("科长 王立") }.assertRule("inspection.transition")
            assertEquals(InspectionState.APPROVED, session.state())
        }
    }

    @Test
    fun `recording cannot start before credentials are shown and recusal is answered`() {
        openStore().use { store ->
            val team = store.loadExamples().validToday().take(2).map { it.id }
            val session = store.newInspection()
            session.readyOffline(team)
            session.checkIn(SITE_FIX)
            session.refused<FieldsealException.NotAllowed> { session.startRecording() }.assertRule("credentials.not_shown")
            session.showCredentials("纸质执法证")
            session.refused<FieldsealException.NotAllowed> { session.startRecording() }.assertRule("recusal.not_answered")
            assertEquals(InspectionState.SUSPENDED, session.answerRecusal(true, team[1]))
        }
    }

    @Test
    fun `a deadline finding needs a deadline after the inspection`() {
        openStore().use { store ->
            val (session, team) = store.recordingInspection()
            val item = session.checklist().items().first { it.visible && it.answerType == "result" }.id
            session.setAnswer(item, AnswerValue.Result(ResultCode.FAIL, null), team[0], null)
            val finding = { deadline: String ->
                NewFinding(item, null, "标识不规范", emptyList(), emptyList(), Handling.RectifyByDeadline("更换标识牌", deadline))
            }
            val e = session.refused<FieldsealException.InvalidInput> { session.addFinding(finding(today.toString())) }
            assertEquals("handling.deadline.not_after_inspection", e.reason)
            // A date that is not ISO text never reaches the core: the binding's converter refuses it.
            val malformed = session.refused<FieldsealException.InvalidInput> { session.addFinding(finding("下个月")) }
            assertEquals("input.malformed", malformed.code())
            assertEquals("date", malformed.field)
            session.addFinding(finding(today.plusDays(15).toString()))
            assertEquals(1, session.findings().size)
        }
    }

    @Test
    fun `an unknown inspection id is NotFound`() {
        openStore().use { store -> assertFails<FieldsealException.NotFound> { store.inspection("no-such-inspection") } }
    }

    private fun headerValue(field: HeaderField, team: List<String>): String =
        when (field) {
            HeaderField.PLACE -> "危废贮存间及RTO装置区"
            HeaderField.PERSON_IN_CHARGE_NAME -> "李明"
            HeaderField.PERSON_IN_CHARGE_POST -> "安环部经理"
            HeaderField.RECORDER_ID -> team[1]
            else -> throw AssertionError("$field should be prefilled from the register")
        }

    private companion object {
        const val TEMPLATE_ID = Examples.TEMPLATE_ID
        const val ENTERPRISE = Examples.ENTERPRISE
        val SITE_FIX = Examples.SITE_FIX
        val HEADER_FIELDS =
            mapOf(
                "enterprise_name" to HeaderField.ENTERPRISE_NAME,
                "uscc" to HeaderField.USCC,
                "legal_representative" to HeaderField.LEGAL_REPRESENTATIVE,
                "address" to HeaderField.ADDRESS,
                "place" to HeaderField.PLACE,
                "person_in_charge_name" to HeaderField.PERSON_IN_CHARGE_NAME,
                "person_in_charge_post" to HeaderField.PERSON_IN_CHARGE_POST,
                "person_in_charge_id_number" to HeaderField.PERSON_IN_CHARGE_ID_NUMBER,
                "person_in_charge_phone" to HeaderField.PERSON_IN_CHARGE_PHONE,
                "recorder_id" to HeaderField.RECORDER_ID,
            )
    }
}
