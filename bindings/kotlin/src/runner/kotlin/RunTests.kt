package cn.fieldseal.core.testrunner

import org.junit.internal.TextListener
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

/**
 * JUnit 4 entry point for run-tests.sh: JUnitCore's usual report, one line per test, and a last line
 * `junit: N passed, M failed, K skipped` where a test skipped by an assumption is counted as skipped
 * (JUnitCore's own "OK (N tests)" would count it as run).
 *
 * Usage: RunTestsKt <test class>...
 */
fun main(args: Array<String>) {
    val classes = args.map { Class.forName(it) }
    val outcomes = Outcomes()
    val core = JUnitCore()
    core.addListener(TextListener(System.out))
    core.addListener(outcomes)
    core.run(*classes.toTypedArray())

    println()
    outcomes.lines.forEach(::println)
    println("junit: ${outcomes.passed} passed, ${outcomes.failed} failed, ${outcomes.skipped} skipped")
    exitProcess(if (outcomes.failed == 0 && outcomes.passed > 0) 0 else 1)
}

private class Outcomes : RunListener() {
    var passed = 0
    var failed = 0
    var skipped = 0
    val lines = mutableListOf<String>()
    private var current: String? = null

    override fun testStarted(description: Description) {
        current = null
    }

    override fun testFailure(failure: Failure) {
        current = "FAIL"
    }

    override fun testAssumptionFailure(failure: Failure) {
        current = "SKIP"
    }

    override fun testIgnored(description: Description) {
        skipped++
        lines += "SKIP ${name(description)}"
    }

    override fun testFinished(description: Description) {
        when (current) {
            "FAIL" -> failed++
            "SKIP" -> skipped++
            else -> passed++
        }
        lines += "${current ?: "PASS"} ${name(description)}"
    }

    private fun name(d: Description) = "${d.testClass?.simpleName ?: d.className}: ${d.methodName}"
}
