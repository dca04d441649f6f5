"""Syntax check of Kotlin sources without an Android SDK: parses each file with tree-sitter-kotlin and
reports every ERROR or MISSING node with its line. Catches broken syntax, not type errors (those need
the Android classpath; see android/README.md).

Usage: python parse_kotlin.py FILE.kt... (android/check.sh installs the grammar in a venv)."""

import sys

import tree_sitter_kotlin
from tree_sitter import Language, Parser

KOTLIN = Language(tree_sitter_kotlin.language())


def problems(node, out):
    if node.is_missing:
        out.append((node.start_point, f"missing {node.type}"))
    elif node.type == "ERROR":
        out.append((node.start_point, "syntax error"))
    for child in node.children:
        problems(child, out)
    return out


def main(paths):
    parser = Parser(KOTLIN)
    bad = 0
    for path in paths:
        with open(path, "rb") as f:
            tree = parser.parse(f.read())
        found = problems(tree.root_node, [])
        for (row, col), what in found:
            print(f"{path}:{row + 1}:{col + 1}: {what}")
        bad += bool(found)
    print(f"kotlin-parse: {len(paths) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
