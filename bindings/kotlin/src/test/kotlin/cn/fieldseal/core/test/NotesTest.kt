package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

/** 现场备注 — field notes written and read through the generated bindings. */
class NotesTest {
    @get:Rule val tmp = TemporaryFolder()

    private fun openStore(dir: File = File(tmp.root, "data")) = Fieldseal.open(dir.path, AesGcmKeyVault(), EcDeviceSigner())

    @Test
    fun `a note put through the bindings reads back with the same fields`() {
        openStore().use { store ->
            val added = store.addNote("inspection-1", "排污口", "废水颜色异常，已拍照。")
            val read = store.note(added.id)
            assertEquals(added, read)
            assertEquals("inspection-1", read.inspectionId)
            assertEquals("排污口", read.title)
            assertEquals("废水颜色异常，已拍照。", read.body)
            assertTrue("created_at is set", read.createdAt.isNotBlank())
        }
    }

    @Test
    fun `a note without an inspection keeps a null inspection id`() {
        openStore().use { store -> assertNull(store.note(store.addNote(null, "t", "b").id).inspectionId) }
    }

    @Test
    fun `notes list every note written, newest first`() {
        openStore().use { store ->
            val ids = (1..3).map { store.addNote(null, "title $it", "body $it").id }
            val listed = store.notes()
            assertEquals(ids.toSet(), listed.map { it.id }.toSet())
            assertEquals(3, listed.size)
            val times = listed.map { it.createdAt }
            assertEquals("newest first", times.sortedDescending(), times)
        }
    }

    @Test
    fun `an unknown note id is NotFound`() {
        openStore().use { store ->
            assertFails<FieldsealException.NotFound> { store.note("no-such-note") }
        }
    }

    @Test
    fun `note text is never on disk in plaintext`() {
        val dir = File(tmp.root, "data")
        val marker = "PLAINTEXT-MARKER-污染源-7f3a"
        openStore(dir).use { store -> store.addNote(null, marker, marker) }
        val files = dir.walkTopDown().filter { it.isFile }.toList()
        val bytes = files.map { it.readBytes() }
        // Control: the scan does see what SQLite writes in the clear, so a miss below means encryption.
        assertTrue("scan sees the SQLite header", bytes.any { it.containsSubsequence("SQLite format 3".toByteArray()) })
        for ((file, content) in files.zip(bytes)) {
            assertFalse("${file.name} holds the note in plaintext", content.containsSubsequence(marker.toByteArray()))
        }
    }
}

fun ByteArray.containsSubsequence(needle: ByteArray): Boolean {
    if (needle.isEmpty()) return true
    outer@ for (i in 0..size - needle.size) {
        for (j in needle.indices) if (this[i + j] != needle[j]) continue@outer
        return true
    }
    return false
}
