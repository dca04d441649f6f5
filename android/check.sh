#!/usr/bin/env bash
# Syntax check of the Android app's Kotlin (and the library module's tests) without an Android SDK:
# every file must parse with tree-sitter-kotlin. Then a symbol check (tools/check_platform.py): every
# foreign trait of bindings/ffi/src/platform.rs has an adapter class in the app overriding each of its
# methods, and the app opens the core with all of them (Fieldseal.openWithCheckpoint). Type checking needs the Android classpath and Gradle,
# which the CI machine does not have; bindings/kotlin/run-tests.sh compiles and runs everything that
# does not need android.* classes.
#
# Installs tree-sitter + tree-sitter-kotlin from PyPI into .cache/kotlin-venv (gitignored) on first use.
# Prints `android-kotlin-parse: N passed, M failed` (files) and `android-platform-symbols: N passed,
# M failed` (traits, and the open call); exits non-zero when anything fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/.." && pwd)"
venv="$repo_root/.cache/kotlin-venv"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_kotlin' 2>/dev/null; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 ships venv without ensurepip.
        rm -rf "$venv"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check "tree-sitter==0.26.1" "tree-sitter-kotlin==1.1.0"
fi

mapfile -t files < <(find "$here" "$repo_root/bindings/kotlin/src" -name '*.kt' -not -path '*/build/*' | sort)
status=0
"$venv/bin/python" "$here/tools/parse_kotlin.py" "${files[@]}" | sed 's/^kotlin-parse:/android-kotlin-parse:/' || status=1
"$venv/bin/python" "$here/tools/check_platform.py" "$repo_root/bindings/ffi/src/platform.rs" "$here/app/src/main/kotlin" || status=1
exit "$status"
