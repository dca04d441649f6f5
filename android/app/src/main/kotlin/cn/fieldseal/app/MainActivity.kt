package cn.fieldseal.app

import android.os.Bundle
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.lifecycle.lifecycleScope
import cn.fieldseal.core.FieldsealException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Placeholder first screen: shows the installation's status or the typed error from opening it. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val text = TextView(this).apply { setPadding(48, 48, 48, 48) }
        text.setText(R.string.opening)
        setContentView(text)

        lifecycleScope.launch {
            text.text =
                try {
                    val core = (application as FieldsealApp).core().await()
                    val status = withContext(Dispatchers.IO) { core.status() }
                    "schema ${status.schemaVersion} · core ${status.coreVersion}\n" +
                        "device key ${status.deviceKeyId}\n" +
                        "outbox: ${status.outboxPending} pending, ${status.outboxWedged} wedged"
                } catch (e: FieldsealException) {
                    // The core's message already says what happened and what to do, in both languages.
                    e.displayText()
                }
        }
    }
}
