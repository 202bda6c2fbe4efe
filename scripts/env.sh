# Shared settings of the project's scripts (sourced, not run).
# Builds go to a cache outside the clone so every clone on this machine
# reuses them; one cargo profile (dev, with optimised dependencies) serves
# the tests, the demo and the benchmarks.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mesh-catalog/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Runs a command as root (directly, or through sudo when available).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
