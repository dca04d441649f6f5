package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.time.LocalDate

/** 锚定 — the trail's signed heads and the checkpoint a Kotlin platform keeps outside the database. */
class TrailAnchorTest {
    @get:Rule val tmp = TemporaryFolder()

    private val vault = AesGcmKeyVault()
    private val signer = EcDeviceSigner()
    private val dir get() = File(tmp.root, "data").path

    private fun task() =
        Task(
            id = "T-2026-HW-0001",
            title = "危险废物贮存设施专项检查",
            source = TaskSource.CAMPAIGN,
            enterpriseId = "ent-chem",
            templateId = "tpl.hazardous-waste.storage",
            plannedDate = LocalDate.now().toString(),
        )

    @Test
    fun `every state change moves the checkpoint and the trail verifies all good`() {
        val checkpoint = MemoryCheckpointStore()
        Fieldseal.openWithCheckpoint(dir, vault, signer, checkpoint).use { store ->
            val session = store.createInspection(task())
            assertEquals("creation is anchored", 1uL, checkpoint.stored!!.counter)
            session.approve("科长 王立")
            assertEquals("the approval is anchored", 2uL, checkpoint.stored!!.counter)
            val verification = store.verifyTrail()
            assertTrue(verification.problems.toString(), verification.allGood)
            assertEquals(AnchorStrength.CHECKPOINTED, store.anchorStrength())
            assertEquals(2uL, verification.anchorsChecked)
        }
    }

    @Test
    fun `a checkpoint ahead of the database reads as a rolled back database`() {
        val checkpoint = MemoryCheckpointStore()
        Fieldseal.openWithCheckpoint(dir, vault, signer, checkpoint).use { it.createInspection(task()).approve("科长 王立") }
        // What a restored older database looks like from here: the platform remembers more anchors.
        checkpoint.stored = TrailCheckpoint(counter = 9uL, anchorHash = "ab".repeat(32))
        Fieldseal.openWithCheckpoint(dir, vault, signer, checkpoint).use { store ->
            val verification = store.verifyTrail()
            assertFalse(verification.allGood)
            val rolledBack = verification.problems.first { it.kind is IntegrityProblemKind.RolledBack }
            assertEquals(2uL, (rolledBack.kind as IntegrityProblemKind.RolledBack).databaseCounter)
            assertTrue(rolledBack.messageZh.contains("旧副本") && rolledBack.messageEn.contains("older copy"))
        }
    }

    @Test
    fun `without checkpoint storage the store works and says its anchor is weaker`() {
        Fieldseal.open(dir, vault, signer).use { store ->
            store.createInspection(task()).approve("科长 王立")
            val verification = store.verifyTrail()
            assertTrue(verification.problems.toString(), verification.allGood)
            assertEquals(AnchorStrength.SIGNED_HEADS_ONLY, verification.anchorStrength)
            assertTrue(verification.anchorMessageZh.contains("锚定较弱"))
            assertTrue(verification.anchorMessageEn.contains("Anchor weaker"))
        }
    }
}
