// Command throughput measures how fast and how promptly `cdrpipe run`
// works on the real broker and server started by `make up`. It drives the
// built binary (bin/cdrpipe, from `make build`) as a child process, so the
// figures include everything a deployment pays: process start, migrations,
// group join, fetch, decode, detection, inserts and commits.
//
// Two modes:
//
//	go run ./benchmarks/throughput e2e [--model quality|generator] [--cdrs 2000000] [--subscribers 500000] [--partitions 4] [--out FILE]
//
// e2e writes about --cdrs lines of traffic: by default a day of
// benchmarks/quality's model of the field (--model quality, run with its
// --emit from the repository's root), or traffic.Generate's mix (--model
// generator: a 500k-subscriber operator, scaled in hours and subscribers
// to reach the count). It produces them to a fresh topic
// bench-e2e-<timestamp>, then times two children reading all of it in
// fresh consumer groups: a plain kafka-go consumer with exactly the
// pipeline's reader settings that does nothing but fetch and commit (the
// floor), and `cdrpipe run --until-caught-up` into the database bench_e2e
// (dropped first). It checks that bench_e2e.cdrs holds exactly the unique
// valid CDRs generated (and cdr_rejects the malformed lines) and fails if
// not. It prints, per child, CDR/s (over the child's wall time, from
// process start to exit; each child's own clock is printed too), peak RSS
// and CPU seconds per million CDRs from the child's rusage, and the ratio
// cdrpipe/plain. For cdrpipe it also prints the CPU-µs per CDR split by
// stage (fetch, decode, engine, sink, run loop, GC) from the run's CPU
// profile, and the ClickHouse server's and the broker's CPU-µs per CDR
// over the run and 10 s of merges after it, read from /proc for the pids
// in --stack-dir (.stack, written by `make up`).
//
//	go run ./benchmarks/throughput latency [--rate 50000] [--duration 60s] [--abusers 100] [--grace 30s] [--set key=value]... [--out FILE]
//
// latency starts `cdrpipe run` (unbounded) on a fresh topic, group and
// database bench_latency, waits until it consumes, then produces JSON CDRs
// at --rate with start_time = now: ordinary subscribers making a call or
// two, and --abusers planted fan-out callers whose threshold-crossing call
// (the detectors.fan_out.min_callees-th distinct callee) is sent at
// staggered moments through the run. The time just before the
// WriteMessages call carrying that CDR is its produced time; the time a
// 50 ms poll of flagged_numbers returns with the number is its visible
// time. It prints p50, p99 and max of visible - produced, abusers seen and
// missed (an abuser not visible --grace after producing stopped is
// missed, and fails the run), the achieved produce rate, and the pipeline
// settings that govern latency as `cdrpipe config` resolves them; then
// stops the child with SIGTERM and requires exit 0.
// --set key=value passes a cdrpipe setting to the child (as CDRPIPE_KEY),
// for example --set sink.flush_interval=200ms.
//
// Both modes accept --brokers and --clickhouse (default the
// CDRPIPE_KAFKA_BROKERS and CDRPIPE_CLICKHOUSE_ADDR environment or the
// local stack), --bin (default bin/cdrpipe), --out (a markdown file the
// result table is appended to) and --keep (keep the topic and the
// temporary files). The hidden mode `consume` is the plain consumer the
// e2e mode runs as its child. Any failure (a service unreachable, a child
// exiting non-zero, a wrong row count, a planted abuser never flagged)
// exits with status 1 and says what failed.
package main
