# shellcheck shell=bash
# Sourced by scripts/test-run.sh: a command run in the background as a lane of `make test`, whose exit status and
# time are written to LOG.result whatever happens. The callers run under `set -e`, which a subshell inherits: a
# bare `cmd; rc=$?` there would end the subshell on a failure before the result is written (what happened to the
# molecule lane in the CI run of 7909734), so the status is caught with `||`.
#
#   lane_start LOG COMMAND...   start it; sets lane_pid
#   lane_finish LOG PID         wait for it, print LOG, set lane_rc and lane_s (rc 1 and "?" when no result)
lane_start() {
  local log=$1
  shift
  rm -f "$log.result"
  (
    rc=0 t0=$(date +%s)
    "$@" </dev/null >"$log" 2>&1 || rc=$?
    echo "$rc $(($(date +%s) - t0))" >"$log.result"
    exit "$rc"
  ) &
  lane_pid=$!
}

lane_finish() {
  local log=$1 pid=$2
  wait "$pid" || true
  cat "$log" 2>/dev/null || echo "(no log at $log)"
  if ! read -r lane_rc lane_s <"$log.result" 2>/dev/null; then
    echo "lane: $log: ended without recording its result" >&2
    lane_rc=1 lane_s='?'
  fi
}
