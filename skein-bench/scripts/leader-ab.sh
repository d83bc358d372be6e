#!/usr/bin/env bash
# Part of the issue-14 measurements in docs/benchmarks.md ("Leader mode: the write path").
# Starts three datastore-node processes on loopback ports, loads them with scripts/Load.java (the
# JDK's HTTP client, one platform thread and connection per client) and reads each node's CPU and
# write_bytes from /proc. Stops only the processes it started. Work files go under $WORK
# (default: a new directory under /tmp).
# Usage: leader-ab.sh JAR LABEL   (env: MODE=leader|dynamo, CLIENTS="64 16 1", WARM=30, MEAS=20,
#        EXTRA_OPTS for the JVM): warms WARM s at 64 clients, then MEAS s per client count.
set -u
JAR=$1; LABEL=$2; W=${WARM:-30}; M=${MEAS:-20}
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../bin/lib/java.sh"; skein_find_java >/dev/null
WORK=${WORK:-$(mktemp -d)}
D=$WORK/ab-$LABEL; rm -rf $D; mkdir -p $D
pids=()
for i in 1 2 3; do
  peers=""; for j in 1 2 3; do [ $j = $i ] && continue; p=$((19480+j)); peers="$peers{\"node_id\":$j,\"host\":\"127.0.0.1\",\"port\":$p},"; done; peers="[${peers%,}]"
  role=secondary; [ $i = 1 ] && role=primary
  java -Xms256m -Xmx1g -XX:+UseG1GC ${EXTRA_OPTS:-} -jar $JAR --port $((19480+i)) --host 127.0.0.1 --node-id $i --mode ${MODE:-leader} $( [ "${MODE:-leader}" = leader ] && echo "--role $role" ) --data-dir $D/d$i --peers "$peers" --cluster-secret "prof-secret-prof-secret-prof-secret-1234" --election-interval 0.5 --log-level warn > $D/n$i.log 2>&1 &
  pids+=($!)
done
for t in $(seq 1 100); do curl -sf -X PUT -H 'Content-Type: application/json' -d '{}' "127.0.0.1:19481/v1/collections/w/docs/x?w=majority" >/dev/null && break; sleep 0.2; done
snap() { for p in "${pids[@]}"; do echo "$(awk '{print $14+$15}' /proc/$p/stat) $(grep '^write_bytes' /proc/$p/io | awk '{print $2}')"; done; }
java "$here/Load.java" http://127.0.0.1:19481 64 $W put > /dev/null
for C in ${CLIENTS:-64 16 1}; do
  s0=$(snap); out=$(java "$here/Load.java" http://127.0.0.1:19481 $C $M put); s1=$(snap)
  n=$(echo "$out" | sed -n 's/put: \([0-9]*\) ok.*/\1/p')
  python3 - "$LABEL" "$C" "$n" "$M" "$s0" "$s1" <<'PY'
import sys
label,c,n,m,s0,s1=sys.argv[1:7]; n=int(n); m=int(m)
a=[list(map(int,l.split())) for l in s0.strip().split('\n')]; b=[list(map(int,l.split())) for l in s1.strip().split('\n')]
cpu=[(b[i][0]-a[i][0])*10/n for i in range(3)]; kb=[(b[i][1]-a[i][1])/1024/n for i in range(3)]
print(f"{label} c={c}: {n/m:.0f} puts/s; CPU ms/put node1..3 {cpu[0]:.3f} {cpu[1]:.3f} {cpu[2]:.3f} (sum {sum(cpu):.3f}); KB/put {kb[0]:.2f} {kb[1]:.2f} {kb[2]:.2f}")
PY
done
kill "${pids[@]}"; wait 2>/dev/null
