#!/usr/bin/env bash
# Part of the issue-14 measurements in docs/benchmarks.md ("Leader mode: the write path").
# Starts three datastore-node processes on loopback ports, loads them with scripts/Load.java (the
# JDK's HTTP client, one platform thread and connection per client) and reads each node's CPU and
# write_bytes from /proc. Stops only the processes it started. Work files go under $WORK
# (default: a new directory under /tmp).
# Usage: [JAR=...] [EXTRA_OPTS=-XX:AOTCache=FILE] first-minute.sh LABEL: the time to a healthy
# primary and to the first w=majority write, then six 10 s windows of 64 clients.
set -u
LABEL=$1; JAR=${JAR:-"$(dirname "$0")/../../skein-node/target/datastore-node.jar"}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../bin/lib/java.sh"; skein_find_java >/dev/null
WORK=${WORK:-$(mktemp -d)}
D=$WORK/first-$LABEL; rm -rf $D; mkdir -p $D
t0=$(date +%s%N); pids=()
for i in 1 2 3; do
  peers=""; for j in 1 2 3; do [ $j = $i ] && continue; p=$((19490+j)); peers="$peers{\"node_id\":$j,\"host\":\"127.0.0.1\",\"port\":$p},"; done; peers="[${peers%,}]"
  role=secondary; [ $i = 1 ] && role=primary
  java -Xms256m -Xmx1g -XX:+UseG1GC ${EXTRA_OPTS:-} -jar $JAR --port $((19490+i)) --host 127.0.0.1 --node-id $i --mode leader --role $role --data-dir $D/d$i --peers "$peers" --cluster-secret "prof-secret-prof-secret-prof-secret-1234" --election-interval 0.5 --log-level warn > $D/n$i.log 2>&1 &
  pids+=($!)
done
for t in $(seq 1 400); do curl -sf "127.0.0.1:19491/health" >/dev/null && break; sleep 0.05; done
t1=$(date +%s%N)
for t in $(seq 1 400); do curl -sf -X PUT -H 'Content-Type: application/json' -d '{}' "127.0.0.1:19491/v1/collections/w/docs/x?w=majority" >/dev/null && break; sleep 0.05; done
t2=$(date +%s%N)
c0=0; for p in "${pids[@]}"; do c0=$((c0 + $(awk '{print $14+$15}' /proc/$p/stat))); done
echo "$LABEL: primary healthy after $(( (t1-t0)/1000000 )) ms, first w=majority write after $(( (t2-t0)/1000000 )) ms; JVM start CPU of the 3 nodes: ${c0}0 ms"
for s in 1 2 3 4 5 6; do
  c0=0; for p in "${pids[@]}"; do c0=$((c0 + $(awk '{print $14+$15}' /proc/$p/stat))); done
  out=$(java "$here/Load.java" http://127.0.0.1:19491 64 10 put)
  c1=0; for p in "${pids[@]}"; do c1=$((c1 + $(awk '{print $14+$15}' /proc/$p/stat))); done
  n=$(echo "$out" | sed -n 's/put: \([0-9]*\) ok.*/\1/p')
  echo "$LABEL: seconds $(( (s-1)*10 ))-$((s*10)): $((n/10)) puts/s, server CPU $(python3 -c "print(round(($c1-$c0)*10/$n,3))") ms/put"
done
kill "${pids[@]}"; wait 2>/dev/null
