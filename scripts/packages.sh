#!/usr/bin/env bash
# Installs the Debian packages the tests use, in one apt run: PostgreSQL
# (scripts/postgres.sh configures and starts it), Chromium (the portal's
# end-to-end tests drive /usr/bin/chromium with playwright-core; no browser
# is ever downloaded) and kcat (a test produces with it to the embedded
# broker). Idempotent.
set -euo pipefail
source "$(dirname "$0")/env.sh"

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v kcat >/dev/null || missing+=(kcat)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
