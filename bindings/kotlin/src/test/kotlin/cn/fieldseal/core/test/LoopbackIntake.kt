package cn.fieldseal.core.test

import java.io.Closeable
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.util.UUID
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * The real intake binary (`fieldseal-intake serve`) on 127.0.0.1 with a fresh data directory, an
 * admin token made here, and an ephemeral port read from its start-up log. run-tests.sh builds the
 * binary and names it in the `fieldseal.intake.bin` system property. [close] stops the process,
 * forcibly if it does not exit in a few seconds; use it in `use { }` so a failing test kills it too.
 */
class LoopbackIntake(dataDir: File) : Closeable {
    val adminToken: String = UUID.randomUUID().toString()
    private val process: Process
    val baseUrl: String

    init {
        val bin = System.getProperty("fieldseal.intake.bin")
            ?: error("system property fieldseal.intake.bin is not set (run through bindings/kotlin/run-tests.sh)")
        check(File(bin).canExecute()) { "intake binary $bin is missing; build it with cargo build -p fieldseal-intake" }
        process = ProcessBuilder(
            bin, "serve",
            "--data", dataDir.path,
            "--listen", "127.0.0.1:0",
            "--admin-token", adminToken,
            "--log-json",
            "--request-timeout-secs", "30",
        ).apply {
            environment()["NO_COLOR"] = "1"
            environment()["RUST_LOG"] = "info"
            redirectErrorStream(true)
        }.start()
        // The log is drained on its own thread for the whole run, so a chatty intake never blocks
        // on a full pipe; the first line naming the bound address gives the port.
        val lines = LinkedBlockingQueue<String>()
        Thread({ process.inputStream.bufferedReader().forEachLine { lines.put(it) } }, "intake-log").apply {
            isDaemon = true
            start()
        }
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        var port: String? = null
        try {
            while (port == null) {
                val left = deadline - System.nanoTime()
                check(left > 0 && process.isAlive) { "intake did not report its address within 30 s" }
                val line = lines.poll(left, TimeUnit.NANOSECONDS) ?: continue
                port = ADDRESS.find(line)?.groupValues?.get(1)
            }
        } catch (e: Throwable) {
            close()
            throw e
        }
        baseUrl = "http://127.0.0.1:$port"
    }

    /** An admin API call with the token; returns (status, body). */
    fun admin(method: String, path: String, json: String? = null): Pair<Int, String> {
        val connection = URI(baseUrl + path).toURL().openConnection() as HttpURLConnection
        connection.requestMethod = method
        connection.connectTimeout = 5_000
        connection.readTimeout = 15_000
        connection.setRequestProperty("Authorization", "Bearer $adminToken")
        if (json != null) {
            connection.doOutput = true
            connection.setRequestProperty("Content-Type", "application/json")
            connection.outputStream.use { it.write(json.toByteArray(Charsets.UTF_8)) }
        }
        val status = connection.responseCode
        val body = (if (status < 400) connection.inputStream else connection.errorStream)
            ?.bufferedReader(Charsets.UTF_8)?.use { it.readText() } ?: ""
        connection.disconnect()
        return status to body
    }

    /** An admin call that must succeed; returns its body. */
    fun adminOk(method: String, path: String, json: String? = null): String {
        val (status, body) = admin(method, path, json)
        check(status in 200..299) { "$method $path: $status $body" }
        return body
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(5, TimeUnit.SECONDS)
        }
    }

    private companion object {
        val ADDRESS = Regex("""listening.*127\.0\.0\.1:(\d+)""")
    }
}
