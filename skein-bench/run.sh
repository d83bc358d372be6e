#!/usr/bin/env bash
# Builds skein-bench and runs the same-run comparisons whose tables go in docs/benchmarks.md:
# PutThroughput (embedded puts: Skein against raw SQLite) and HttpThroughput (the HTTP API against
# the embedded API of the same node), or with --replication, ReplicationBench (datastore-node
# processes in dynamo mode: replication lag, cluster puts against a single node, catch-up), or with
# --leader, LeaderBench (datastore-node processes in leader mode: w=majority against w=1, failover
# time, both against etcd when an etcd binary is on the PATH). Prints Markdown to stdout and keeps a
# copy in skein-bench/target/results-{quick,full}.md (with --replication:
# results-replication-{quick,full}.md, with --leader: results-leader-{quick,full}.md); progress goes
# to stderr.
#
# With --reload, ReloadBench: the time from a config file write to the change being applied.
# With --query, QueryBench: Mango query latency against raw SQLite over the same file.
# With --compaction, CompactionBench: the database and WAL size under 2 million puts over 100k keys
# in each mode, and a leader-mode secondary catching up by snapshot against by the log.
#
# Usage: skein-bench/run.sh [--quick] [--replication | --leader | --reload | --compaction | --query]
#                           [--jmh]
#                           [--no-build]
#                           [--offline]
#   --quick        about a minute: short windows, one round, fsync and buffered puts, fsync HTTP
#   (default)      the full run, about 11 minutes
#   --replication  ReplicationBench instead: about 35 s with --quick, 3 minutes without
#   --leader       LeaderBench instead: about 1 minute with --quick, 9 minutes without
#   --reload       ReloadBench instead: about 20 s
#   --compaction   CompactionBench instead: about 1 minute with --quick, 12 minutes without
#   --query        QueryBench instead: 20,000 documents with --quick (about 30 s), 200,000 without
#   --jmh          also run the JMH benchmarks (about 4 more minutes; output in target/jmh.txt)
#   --no-build     use the jars already in skein-bench/target and skein-node/target
#   --offline      build with Maven offline (-o)
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/lib/java.sh
skein_find_java
# Maven 3.9 loads Guice, which warns about sun.misc.Unsafe on JDK 24+; the flag exists only there.
if [ "$(skein_java_feature "$JAVA_HOME")" -ge 24 ]; then
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi

mode=full
replication=false
leader=false
reload=false
compaction=false
query=false
jmh=false
build=true
maven_flags=(-B -q --no-transfer-progress)
for arg in "$@"; do
  case "$arg" in
    --quick) mode=quick ;;
    --replication) replication=true ;;
    --leader) leader=true ;;
    --reload) reload=true ;;
    --compaction) compaction=true ;;
    --query) query=true ;;
    --jmh) jmh=true ;;
    --no-build) build=false ;;
    --offline) maven_flags+=(-o) ;;
    -h | --help)
      sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

if $replication && $leader; then
  echo "run.sh: --replication and --leader are separate runs; pick one" >&2
  exit 2
fi

jar=skein-bench/target/skein-benchmarks.jar
if $build; then
  echo "building (skipping tests) ..." >&2
  ./mvnw "${maven_flags[@]}" -Dmaven.test.skip=true -Dspotless.check.skip=true install \
    -pl skein-core,skein-testkit,skein-node -am
  ./mvnw "${maven_flags[@]}" -DskipTests package -pl skein-bench
fi
if [ ! -f "$jar" ]; then
  echo "run.sh: $jar is missing; run without --no-build" >&2
  exit 1
fi

# The databases go under target/ (the same disk as the project), one fresh directory per store.
data=skein-bench/target/bench-data
mkdir -p "$data"
java_opts=(--enable-native-access=ALL-UNNAMED -Xms1g -Xmx1g -XX:+UseG1GC)
jmh_opts=()
# JMH 1.37 uses sun.misc.Unsafe, which JDK 24+ warns about; the flag exists only there.
if [ "$(skein_java_feature "$JAVA_HOME")" -ge 24 ]; then
  jmh_opts+=(--sun-misc-unsafe-memory-access=allow)
fi
runner_flags=(--dir "$data")
if [ "$mode" = quick ]; then
  runner_flags+=(--quick)
fi

machine() {
  echo "## Machine"
  echo
  echo '```'
  echo "$(nproc) processors: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  java -version 2>&1
  df -h "$PWD" | tail -1
  echo '```'
  echo
}

# The nodes are datastore-node processes started from the shaded node jar, on the same JVM.
node_jar=skein-node/target/datastore-node.jar
if { $replication || $leader || $compaction; } && [ ! -f "$node_jar" ]; then
  echo "run.sh: $node_jar is missing; run without --no-build" >&2
  exit 1
fi

if $query; then
  results=skein-bench/target/results-query-$mode.md
  {
    machine
    echo "## Queries"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.QueryBench "${runner_flags[@]}"
  } | tee "$results"
elif $compaction; then
  results=skein-bench/target/results-compaction-$mode.md
  {
    machine
    echo "## Compaction and footprint"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.CompactionBench "${runner_flags[@]}" \
      --node-jar "$node_jar"
  } | tee "$results"
elif $reload; then
  results=skein-bench/target/results-reload-$mode.md
  {
    machine
    echo "## Configuration reload"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.ReloadBench "${runner_flags[@]}"
  } | tee "$results"
elif $leader; then
  results=skein-bench/target/results-leader-$mode.md
  {
    machine
    echo "## Leader mode"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.LeaderBench "${runner_flags[@]}" \
      --node-jar "$node_jar"
  } | tee "$results"
elif $replication; then
  results=skein-bench/target/results-replication-$mode.md
  {
    machine
    echo "## Replication (dynamo mode)"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.ReplicationBench "${runner_flags[@]}" \
      --node-jar "$node_jar"
  } | tee "$results"
else
  results=skein-bench/target/results-$mode.md
  {
    machine
    echo "## Embedded puts"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.PutThroughput "${runner_flags[@]}"
    echo
    echo "## HTTP"
    echo
    java "${java_opts[@]}" -cp "$jar" io.skein.bench.HttpThroughput "${runner_flags[@]}"
  } | tee "$results"
fi
echo "results written to $results" >&2

if $jmh; then
  # The forks get the data directory too: java.io.tmpdir may be a tmpfs, where fsync is free.
  java "${java_opts[@]}" "${jmh_opts[@]}" -jar "$jar" 'io\.skein\.bench\.(EmbeddedPut|RawSqliteInsert)Benchmark' \
    -wi 1 -i 3 -w 2s -r 3s -f 1 -rf text -rff skein-bench/target/jmh.txt \
    -jvmArgsAppend "--enable-native-access=ALL-UNNAMED -Xms1g -Xmx1g -Dskein.bench.dir=$PWD/$data"
fi
