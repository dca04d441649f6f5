"""Symbol check of the Android app against the FFI's foreign traits, without an Android SDK.

Every trait `bindings/ffi/src/platform.rs` exports `with_foreign` (KeyVault, DeviceSigner,
TrailCheckpointStore, ...) must have an adapter class in the app that names it as a supertype and
overrides each of its methods (snake_case in Rust, camelCase in Kotlin), and the Application must
open the core with `Fieldseal.openWithCheckpoint`, passing one adapter of each trait: an app that
opened with `Fieldseal.open` would run with its trail "anchor weaker". Parsed with
tree-sitter-kotlin, so a comment or a string naming a symbol does not count.

Usage: python check_platform.py PLATFORM_RS APP_KOTLIN_DIR (android/check.sh runs it).
Prints `android-platform-symbols: N passed, M failed` and exits non-zero on any failure."""

import pathlib
import re
import sys

import tree_sitter_kotlin
from tree_sitter import Language, Parser

KOTLIN = Language(tree_sitter_kotlin.language())
OPEN = "Fieldseal.openWithCheckpoint"


def foreign_traits(rust):
    """{trait: [method, ...]} for every `#[uniffi::export(with_foreign)] pub trait`."""
    traits = {}
    for m in re.finditer(r"#\[uniffi::export\(with_foreign\)\]\s*pub trait (\w+)[^{]*\{(.*?)\n\}", rust, re.S):
        traits[m.group(1)] = re.findall(r"\bfn (\w+)\s*\(", m.group(2))
    return traits


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def text(node):
    return node.text.decode("utf-8")


def classes(tree):
    """(class name, [supertype names], {overridden function names})."""
    out = []
    for node in walk(tree.root_node):
        if node.type != "class_declaration":
            continue
        name = next((text(c) for c in node.children if c.type in ("type_identifier", "identifier")), "?")
        supers = []
        for spec in (n for n in walk(node) if n.type == "delegation_specifier" and n.parent.parent == node
                     or n.type == "delegation_specifier" and n.parent == node):
            bare = re.sub(r"\(.*\)|<.*>", "", text(spec), flags=re.S).strip()
            supers.append(bare.split(".")[-1])
        overrides = set()
        body = next((c for c in node.children if c.type == "class_body"), None)
        for fn in (c for c in (body.children if body else []) if c.type == "function_declaration"):
            mods = next((text(c) for c in fn.children if c.type == "modifiers"), "")
            fname = next((text(c) for c in fn.children if c.type in ("simple_identifier", "identifier")), None)
            if "override" in mods and fname:
                overrides.add(fname)
        out.append((name, supers, overrides))
    return out


def main(platform_rs, app_dir):
    traits = foreign_traits(pathlib.Path(platform_rs).read_text(encoding="utf-8"))
    parser = Parser(KOTLIN)
    found = []
    opens = []
    for path in sorted(pathlib.Path(app_dir).rglob("*.kt")):
        tree = parser.parse(path.read_bytes())
        found += [(path, *c) for c in classes(tree)]
        for node in walk(tree.root_node):
            if node.type == "call_expression" and text(node).startswith(("Fieldseal.open(", "Fieldseal.open (", OPEN)):
                opens.append((path, text(node)))
    passed = failed = 0
    if not traits:
        print(f"no foreign traits found in {platform_rs}")
        failed += 1
    adapters = {}
    for trait, methods in sorted(traits.items()):
        impls = [(p, n, o) for p, n, s, o in found if trait in s]
        if not impls:
            print(f"FAILED: no class in {app_dir} implements {trait}")
            failed += 1
            continue
        path, name, overrides = impls[0]
        missing = [camel(m) for m in methods if camel(m) not in overrides]
        if missing:
            print(f"FAILED: {name} ({path}) implements {trait} but does not override {', '.join(missing)}")
            failed += 1
            continue
        adapters[trait] = name
        print(f"ok: {trait} -> {name}")
        passed += 1
    plain = [t for p, t in opens if not t.startswith(OPEN)]
    checkpointed = [t for p, t in opens if t.startswith(OPEN)]
    if plain:
        print("FAILED: the app opens the core with Fieldseal.open (no checkpoint store: anchor weaker)")
        failed += 1
    elif not checkpointed:
        print(f"FAILED: the app never calls {OPEN}")
        failed += 1
    else:
        call = checkpointed[0]
        absent = [n for n in adapters.values() if not re.search(rf"\b{n}\s*\(", call)]
        if absent:
            print(f"FAILED: {OPEN} is not given {', '.join(absent)}")
            failed += 1
        else:
            print(f"ok: {OPEN} with {', '.join(sorted(adapters.values()))}")
            passed += 1
    print(f"android-platform-symbols: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
