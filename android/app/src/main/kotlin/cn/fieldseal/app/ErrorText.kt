package cn.fieldseal.app

import cn.fieldseal.core.FieldsealException

/**
 * The text a screen shows for a core error: Chinese first, then English, then the stable code for
 * support. The core writes both messages; the app never rewords them.
 */
fun FieldsealException.displayText(): String {
    val (code, zh, en) =
        when (this) {
            is FieldsealException.InvalidInput -> Triple(code, messageZh, messageEn)
            is FieldsealException.NotAllowed -> Triple(code, messageZh, messageEn)
            is FieldsealException.NotFound -> Triple(code, messageZh, messageEn)
            is FieldsealException.Integrity -> Triple(code, messageZh, messageEn)
            is FieldsealException.Storage -> Triple(code, messageZh, messageEn)
            is FieldsealException.KeyUnavailable -> Triple(code, messageZh, messageEn)
            is FieldsealException.Network -> Triple(code, messageZh, messageEn)
            is FieldsealException.Cancelled -> Triple(code, messageZh, messageEn)
            is FieldsealException.Internal -> Triple(code, messageZh, messageEn)
        }
    return "$zh\n$en\n($code)"
}
