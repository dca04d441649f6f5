#!/usr/bin/env bash
# The generated Swift bindings' syntax and symbols (no Swift compiler here).
exec bash "$(dirname "$0")/../../bindings/swift/check.sh"
