#!/usr/bin/env bash
# Regenerates libchrony-sys/src/bindings.rs from the chrony.h that build.rs
# finds, with exactly the bindgen configuration build.rs uses (the `bindgen`
# feature). With --check, fails if the committed file differs instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here/.."
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
if ! msgs="$(cargo build -p libchrony-sys --features bindgen --message-format=json 2>"$errors")"; then
  cat "$errors" >&2
  echo "regen-bindings: building libchrony-sys with the bindgen feature failed" >&2
  exit 1
fi
out_dir="$(echo "$msgs" | grep '"reason":"build-script-executed"' \
  | grep '"package_id":"[^"]*libchrony-sys' | sed -E 's/.*"out_dir":"([^"]*)".*/\1/' | tail -1)"
generated="$out_dir/bindings.rs"
[ -f "$generated" ] || { echo "regen-bindings: bindgen produced no $generated" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$here/src/bindings.rs" "$generated"; then
    echo "regen-bindings: committed bindings drift from bindgen; run libchrony-sys/scripts/regen-bindings.sh" >&2
    exit 1
  fi
  echo "regen-bindings: committed bindings match bindgen"
else
  cp "$generated" "$here/src/bindings.rs"
  echo "regen-bindings: wrote libchrony-sys/src/bindings.rs"
fi
