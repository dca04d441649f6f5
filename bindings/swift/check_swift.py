#!/usr/bin/env python3
"""Checks the generated Swift bindings without a Swift compiler.

Two kinds of check, each counted once:
  * every generated .swift file (and each hand-written one given with --also) parses with tree-sitter-swift, with no ERROR or MISSING node except
    those whose source lines are on the allow-list (the grammar's known false positives);
  * every C symbol the bindings use (uniffi_fieldseal_ffi_*, ffi_fieldseal_ffi_*) is declared in
    the generated header when Swift references it, and exported by the built library;
  * the app's Swift given with --app (ios/) parses, every call it makes to a function or type the
    bindings declare uses one of the generated signatures' argument labels, and every member name
    it reads (`x.name`, `.name`) is declared by the bindings, by the app itself, or is a platform
    API name listed in --platform-names (so a renamed binding cannot slip through unseen).

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


# What the generated Swift declares, read from its text (uniffi's output is regular).
GEN_TYPE = re.compile(r"^(?:public |open )(?:final )?(?:struct|class|enum|protocol) (\w+)", re.M)
GEN_FUNC = re.compile(r"\bfunc (\w+)\(((?:[^()]|\([^()]*\))*)\)")
GEN_INIT = re.compile(r"\b(?:public |open )(?:convenience |required )*init\(((?:[^()]|\([^()]*\))*)\)")
GEN_MEMBER = re.compile(r"\b(?:var|let|case) (\w+)")
APP_DECL = re.compile(r"\b(?:func|var|let|class|struct|enum|case|protocol) (\w+)")


COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# Calls qualified by a platform module (`_Concurrency.Task { }`, needed because the bindings
# declare a `Task` record that would otherwise shadow Swift's) are not calls into the bindings.
PLATFORM_MODULES = {"_Concurrency", "Swift", "Foundation", "BackgroundTasks", "Network", "UIKit", "os"}


def labels_of(params: str) -> tuple[str, ...]:
    """Argument labels of a parameter list: `label name: T` -> label, `name: T` -> name, `_ n: T` -> none."""
    params = COMMENTS.sub("", params)
    out = []
    for param in (p.strip() for p in params.split(",")):
        if not param or ":" not in param:
            continue
        words = param.split(":", 1)[0].split()
        label = words[0]
        out.append("_" if label == "_" else label)
    return tuple(out)


def generated_api(swift_files: list[Path]):
    signatures: dict[str, set[tuple[str, ...]]] = {}
    members: set[str] = set()
    for path in swift_files:
        text = path.read_text(encoding="utf-8")
        types = [(m.start(), m.group(1)) for m in GEN_TYPE.finditer(text)]
        for _, name in types:
            members.add(name)
        for m in GEN_FUNC.finditer(text):
            signatures.setdefault(m.group(1), set()).add(labels_of(m.group(2)))
            members.add(m.group(1))
        for m in GEN_INIT.finditer(text):
            owner = [name for start, name in types if start < m.start()]
            if owner:
                signatures.setdefault(owner[-1], set()).add(labels_of(m.group(1)))
        members |= set(GEN_MEMBER.findall(text))
    return signatures, members


def nodes(node, kind):
    if node.type == kind:
        yield node
    for child in node.children:
        yield from nodes(child, kind)


def text_of(source: bytes, node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8")


def check_app(parser, paths: list[Path], signatures, bound_members: set[str], platform: set[str], report: Report) -> None:
    sources = {path: path.read_bytes() for path in paths}
    declared = set()
    for source in sources.values():
        declared |= set(APP_DECL.findall(source.decode("utf-8")))
    read_names: dict[str, str] = {}
    calls = 0
    for path, source in sources.items():
        tree = parser.parse(source)
        for call in nodes(tree.root_node, "call_expression"):
            callee = call.children[0]
            if callee.type == "navigation_expression":
                target = callee.child_by_field_name("target")
                if target is not None and text_of(source, target) in PLATFORM_MODULES:
                    continue
                callee = callee.child_by_field_name("suffix").child_by_field_name("suffix")
            if callee is None or callee.type != "simple_identifier":
                continue
            name = text_of(source, callee)
            if name not in signatures or name in declared or name in platform:
                continue
            suffix = call.children[1]
            labels = []
            for argument in nodes(suffix, "value_argument"):
                if argument.parent.parent != suffix:
                    continue  # an argument of a nested call
                label = argument.child_by_field_name("name")
                labels.append(text_of(source, label).rstrip(":").strip() if label else "_")
            calls += 1
            where = f"{path.name}:{call.start_point[0] + 1}"
            if tuple(labels) in signatures[name]:
                report.ok()
            else:
                shown = " or ".join(f"{name}({''.join(l + ':' for l in sig)})" for sig in sorted(signatures[name]))
                report.fail(f"{where}: {name}({''.join(l + ':' for l in labels)}) matches no generated signature ({shown})")
        for suffix in nodes(tree.root_node, "navigation_suffix"):
            member = suffix.child_by_field_name("suffix")
            if member is not None and member.type == "simple_identifier":
                read_names.setdefault(text_of(source, member), f"{path.name}:{suffix.start_point[0] + 1}")
        for prefix in nodes(tree.root_node, "prefix_expression"):
            if prefix.children and prefix.children[0].type == "." and prefix.children[-1].type == "simple_identifier":
                read_names.setdefault(text_of(source, prefix.children[-1]), f"{path.name}:{prefix.start_point[0] + 1}")
    for name, where in sorted(read_names.items()):
        if name in bound_members or name in declared or name in platform:
            report.ok()
        else:
            report.fail(f"{where}: member {name!r} is declared neither by the bindings nor by the app, nor listed as a platform API")
    print(f"app: {len(paths)} file(s), {calls} call(s) into the bindings checked, {len(read_names)} member name(s) checked")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bindings", type=Path, required=True, help="directory uniffi-bindgen wrote into")
    ap.add_argument("--library", type=Path, required=True, help="the built libfieldseal_ffi shared library")
    ap.add_argument("--allow", type=Path, required=True, help="allow-list of grammar false positives")
    ap.add_argument("--also", type=Path, nargs="*", default=[], help="hand-written .swift files to parse too")
    ap.add_argument("--app", type=Path, nargs="*", default=[], help="the app's .swift files: parsed and checked against the bindings")
    ap.add_argument("--platform-names", type=Path, help="platform API member names the app may use (one a line, # comments)")
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
    for path in swift_files + args.also + args.app:
        check_swift_file(parser, path, allowed, used, report)
    if args.app:
        platform = set()
        if args.platform_names:
            for raw in args.platform_names.read_text(encoding="utf-8").splitlines():
                entry = raw.split("#", 1)[0].strip()
                if entry:
                    platform.add(entry)
        signatures, bound_members = generated_api(swift_files)
        check_app(parser, args.app, signatures, bound_members, platform, report)
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
        f"parsed {len(swift_files)} generated, {len(args.also)} hand-written and {len(args.app)} app Swift file(s); checked "
        f"{len(declared | referenced)} FFI symbol(s) ({len(referenced)} used by Swift) against {len(exported)} exported"
    )
    print(f"swift-checks: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
