#!/usr/bin/env bash
# Runs one command (a Kafka broker JVM, wrangler dev) and ties its life to the process that
# started this script: if that process dies (a crashed test run, a killed `pnpm start`), the
# command is stopped too, so nothing is left behind. SIGTERM/SIGINT are forwarded for a clean stop.
set -u
parent=$PPID
"$@" &
child=$!
stop() {
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  exit $?
}
trap stop TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then stop; fi
  sleep 1 &
  wait $!
done
wait "$child"
