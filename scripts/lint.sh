#!/usr/bin/env bash
# Fails when any of our C++ files is not clang-format clean (see .clang-format).
# Fix with: scripts/lint.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
clang-format --dry-run --Werror "${files[@]}"
echo "lint: ${#files[@]} files clang-format clean"
