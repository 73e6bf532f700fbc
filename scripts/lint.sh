#!/usr/bin/env bash
# Fails when any of our C++ files is not clang-format clean (see .clang-format).
# Fix with: scripts/lint.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones not yet added (but not ignored ones such as build trees), so a file is
# checked before its first commit too.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | sort -u)
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
clang-format --dry-run --Werror "${files[@]}"
echo "lint: ${#files[@]} files clang-format clean"
