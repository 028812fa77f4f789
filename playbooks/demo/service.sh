#!/usr/bin/env bash
# The local demo's stand-in for systemd: start|restart|reload|stop prometheus|nginx as plain processes whose
# files live in the demo state folder. Prints "changed" when it changed something (the roles read that).
set -euo pipefail
state=$(cd "$(dirname "$0")" && pwd)
action=$1 service=$2

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

prometheus_start() {
  alive "$state/prometheus/prometheus.pid" && return 0
  # shellcheck disable=SC1091
  ARGS=""; source "$state/default/prometheus"
  # shellcheck disable=SC2086
  nohup prometheus $ARGS >"$state/prometheus/prometheus.log" 2>&1 &
  echo $! >"$state/prometheus/prometheus.pid"
  echo changed
}

prometheus_stop() {
  if alive "$state/prometheus/prometheus.pid"; then
    pid=$(cat "$state/prometheus/prometheus.pid"); kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo changed
  fi
  rm -f "$state/prometheus/prometheus.pid"
}

nginx_cmd() { nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" "$@"; }

case "$service/$action" in
  prometheus/start) prometheus_start ;;
  prometheus/stop) prometheus_stop ;;
  prometheus/restart) prometheus_stop >/dev/null; prometheus_start ;;
  prometheus/reload) alive "$state/prometheus/prometheus.pid" && kill -HUP "$(cat "$state/prometheus/prometheus.pid")" && echo changed ;;
  nginx/start) alive "$state/nginx/nginx.pid" || { nginx_cmd; echo changed; } ;;
  nginx/reload) alive "$state/nginx/nginx.pid" && nginx_cmd -s reload && echo changed ;;
  nginx/stop) alive "$state/nginx/nginx.pid" && nginx_cmd -s quit && echo changed || true ;;
  *) echo "usage: $0 start|stop|restart|reload prometheus|nginx" >&2; exit 2 ;;
esac
