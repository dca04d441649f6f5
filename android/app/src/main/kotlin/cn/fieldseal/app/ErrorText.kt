package cn.fieldseal.app

import cn.fieldseal.core.FieldsealException

/**
 * The text a screen shows for a core error: Chinese first, then English, then the stable code for
 * support. The core writes both messages and every variant reads them the same way (`code()`,
 * `messageZh()`, `messageEn()`); the app never rewords them.
 */
fun FieldsealException.displayText(): String = "${messageZh()}\n${messageEn()}\n(${code()})"
