#!/usr/bin/env python3
"""Checks the generated Swift bindings without a Swift compiler.

Two kinds of check, each counted once:
  * every generated .swift file (and each hand-written one given with --also) parses with tree-sitter-swift, with no ERROR or MISSING node except
    those whose source lines are on the allow-list (the grammar's known false positives);
  * every C symbol the bindings use (uniffi_fieldseal_ffi_*, ffi_fieldseal_ffi_*) is declared in
    the generated header when Swift references it, and exported by the built library.

The last line printed is `swift-checks: N passed, M failed`; the exit status is non-zero when M > 0.
Run through bindings/swift/check.sh, which builds the library, generates the bindings and prepares
the virtualenv this needs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

# UniFFI names its C symbols after the crate: scaffolding functions, checksums and the
# RustBuffer/future helpers. CamelCase typedefs and UPPERCASE guard macros do not match.
# Both crates cross: fieldseal_core (records, enums, the error) and fieldseal_ffi (objects).
FFI_SYMBOL = re.compile(r"\b((?:uniffi|ffi)_fieldseal_(?:ffi|core)_[A-Za-z0-9_]+)\b")
HEADER_FUNCTION = re.compile(r"\b((?:uniffi|ffi)_fieldseal_(?:ffi|core)_[A-Za-z0-9_]+)\s*\(")
# The FFI's Swift file lowers and lifts the core's types through the core file's public converters;
# both files compile into one Swift module, so each converter one file uses must be defined in one.
CONVERTER_USE = re.compile(r"\b(FfiConverterType[A-Za-z0-9_]+_(?:lift|lower))\b")
CONVERTER_DEF = re.compile(r"^public func (FfiConverterType[A-Za-z0-9_]+_(?:lift|lower))\(", re.M)


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self) -> None:
        self.passed += 1

    def fail(self, message: str) -> None:
        self.failed += 1
        print(f"FAIL {message}")


def load_allow_list(path: Path) -> set[str]:
    """Entries are `line: <source line, surrounding whitespace ignored>`; `#` lines are comments."""
    allowed = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("line:"):
            allowed.add(raw[len("line:"):].strip())
        elif raw.strip() and not raw.lstrip().startswith("#"):
            raise SystemExit(f"{path}: unrecognised entry {raw!r} (expected `line: ...` or `# comment`)")
    return allowed


def syntax_problems(node):
    """ERROR and MISSING nodes, outermost first; an ERROR's own subtree is not searched further."""
    if node.is_missing or node.is_error:
        yield node
        return
    for child in node.children:
        yield from syntax_problems(child)


def check_swift_file(parser, path: Path, allowed: set[str], used: set[str], report: Report) -> None:
    source = path.read_bytes()
    lines = source.decode("utf-8").splitlines()
    tree = parser.parse(source)
    problems = []
    for node in syntax_problems(tree.root_node):
        first, last = node.start_point[0], node.end_point[0]
        spanned = [lines[i].strip() for i in range(first, min(last, len(lines) - 1) + 1)]
        # Allowed only if every line the bad node covers is a known false positive.
        if spanned and all(line in allowed for line in spanned):
            used.update(spanned)
            continue
        kind = "MISSING " + node.type if node.is_missing else "ERROR"
        where = f"{path.name}:{first + 1}:{node.start_point[1] + 1}"
        problems.append(f"{where}: {kind} near {lines[first].strip()[:100]!r}" if lines else where)
    if problems:
        report.fail(f"{path.name} has {len(problems)} syntax problem(s):\n  " + "\n  ".join(problems))
    else:
        report.ok()


def exported_symbols(library: Path) -> set[str]:
    # GNU nm on Linux; on macOS, Apple's nm lists external defined symbols with -gU and prefixes
    # C names with an underscore.
    darwin = sys.platform == "darwin"
    command = ["nm", "-gU", str(library)] if darwin else ["nm", "-D", "--defined-only", str(library)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    symbols = set()
    for row in out.splitlines():
        parts = row.split()
        if len(parts) >= 3:
            name = parts[2].split("@")[0]
            symbols.add(name[1:] if darwin and name.startswith("_") else name)
    return symbols


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bindings", type=Path, required=True, help="directory uniffi-bindgen wrote into")
    ap.add_argument("--library", type=Path, required=True, help="the built libfieldseal_ffi shared library")
    ap.add_argument("--allow", type=Path, required=True, help="allow-list of grammar false positives")
    ap.add_argument("--also", type=Path, nargs="*", default=[], help="hand-written .swift files to parse too")
    args = ap.parse_args()

    import tree_sitter_swift
    from tree_sitter import Language, Parser

    report = Report()
    parser = Parser(Language(tree_sitter_swift.language()))
    allowed = load_allow_list(args.allow)
    used: set[str] = set()

    swift_files = sorted(args.bindings.glob("*.swift"))
    headers = sorted(args.bindings.glob("*.h"))
    if not swift_files or not headers:
        report.fail(f"no generated .swift or .h files in {args.bindings}")
    for path in swift_files + args.also:
        check_swift_file(parser, path, allowed, used, report)
    for entry in sorted(allowed - used):
        print(f"note: allow-list entry not needed by these bindings: {entry!r}")

    declared: set[str] = set()
    for header in headers:
        declared |= set(HEADER_FUNCTION.findall(header.read_text(encoding="utf-8")))
    referenced: set[str] = set()
    converters_used: set[str] = set()
    converters_defined: set[str] = set()
    for path in swift_files:
        text = path.read_text(encoding="utf-8")
        referenced |= set(FFI_SYMBOL.findall(text))
        converters_used |= set(CONVERTER_USE.findall(text))
        converters_defined |= set(CONVERTER_DEF.findall(text))
    missing_converters = sorted(converters_used - converters_defined)
    if missing_converters:
        report.fail(f"converters used but defined in no generated file: {', '.join(missing_converters[:10])}")
    else:
        report.ok()
    exported = exported_symbols(args.library)

    for symbol in sorted(declared | referenced):
        if symbol in referenced and symbol not in declared:
            report.fail(f"{symbol}: used by Swift but not declared in the generated header")
        elif symbol not in exported:
            report.fail(f"{symbol}: not exported by {args.library.name}")
        else:
            report.ok()

    print(
        f"parsed {len(swift_files)} generated and {len(args.also)} hand-written Swift file(s); checked "
        f"{len(declared | referenced)} FFI symbol(s) ({len(referenced)} used by Swift) against {len(exported)} exported"
    )
    print(f"swift-checks: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
