# Shared settings of the project's scripts (sourced, not run).
# Builds go to a cache outside the clone so every clone on this machine
# reuses them. The dev profile (with optimised dependencies) serves the
# tests and the demo; the benchmarks build the release profile.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mesh-catalog/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Runs a command as root (directly, or through sudo when available).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
