package cn.fieldseal.core.test

import cn.fieldseal.core.*
import cn.fieldseal.ffi.*
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail

/** The part of every `FieldsealException` a screen shows: stable code plus Chinese and English text. */
data class Explanation(val code: String, val messageZh: String, val messageEn: String)

/** Read through the error's own methods: the same on every variant, no `when` over them. */
fun FieldsealException.explanation(): Explanation = Explanation(code(), messageZh(), messageEn())

private val CJK = Regex("[\\u4e00-\\u9fff]")

/**
 * Runs [block], which must fail with exactly [E]; checks the error explains itself in both languages
 * (a stable dotted code, Chinese text that is Chinese, English text that is not) and returns it.
 */
inline fun <reified E : FieldsealException> assertFails(expectedCode: String? = null, block: () -> Unit): E {
    val thrown =
        try {
            block()
            null
        } catch (e: Throwable) {
            e
        }
    if (thrown == null) fail("expected ${E::class.simpleName}, but the call succeeded")
    if (thrown !is E) {
        throw AssertionError("expected ${E::class.simpleName}, got ${thrown!!::class.qualifiedName}: $thrown", thrown)
    }
    assertWellExplained(thrown)
    if (expectedCode != null) assertEquals("error code", expectedCode, thrown.explanation().code)
    return thrown
}

fun assertWellExplained(e: FieldsealException) {
    val (code, zh, en) = e.explanation()
    assertTrue("code '$code' is a stable dotted identifier", Regex("[a-z_]+(\\.[a-z_]+)*").matches(code))
    assertTrue("Chinese message '$zh' contains Chinese", CJK.containsMatchIn(zh))
    assertTrue("English message '$en' is non-empty English", en.isNotBlank() && !CJK.containsMatchIn(en))
}
