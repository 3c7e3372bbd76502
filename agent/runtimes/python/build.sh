#!/usr/bin/env bash
# Builds the sdist and the wheel of warmpool-runtime into dist/, offline: the build backend in
# backend/ uses only the standard library, so any python3 >= 3.9 will do.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf dist
"${PYTHON:-python3}" - <<'PY'
import sys
sys.path.insert(0, "backend")
import warmpool_build
print("dist/" + warmpool_build.build_sdist("dist"))
print("dist/" + warmpool_build.build_wheel("dist"))
PY
