/**
 * Benchmarks of Skein's put path, each against a baseline measured in the same run.
 *
 * <p>{@link io.skein.bench.PutThroughput} compares embedded puts with plain SQLite inserts of the
 * same rows, {@link io.skein.bench.HttpThroughput} compares the HTTP API with the embedded API of
 * the same node, {@link io.skein.bench.ReplicationBench} measures replication between real {@code
 * datastore-node} processes in dynamo mode against a single node, {@link
 * io.skein.bench.LeaderBench} measures leader mode ({@code w=majority} against {@code w=1}, and
 * failover time) against an etcd cluster, and the JMH classes ({@link
 * io.skein.bench.EmbeddedPutBenchmark}, {@link io.skein.bench.RawSqliteInsertBenchmark}) measure
 * the same hot paths under JMH. Benchmarks measure; they assert nothing about time. Figures and the
 * commands that produced them are in {@code docs/benchmarks.md}.
 */
@NullMarked
package io.skein.bench;

import org.jspecify.annotations.NullMarked;
