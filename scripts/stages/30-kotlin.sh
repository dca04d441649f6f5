#!/usr/bin/env bash
# The generated Kotlin bindings on a plain JVM, and the Android sources' syntax.
exec bash "$(dirname "$0")/../../bindings/kotlin/run-tests.sh"
