// Package traffic makes synthetic call detail record (CDR) traffic for
// exercising cdrpipe end to end, and sends it to Kafka.
//
// Generate writes one JSON CDR per line, in roughly increasing start_time
// order, for a population of ordinary subscribers plus a known set of
// planted nuisance callers (fan_out, short_calls, sequential_dialing). It
// mixes in the noise a real feed has: byte-identical re-sends, malformed
// lines, slightly out-of-order and very late records, and one record from
// the far future. Everything it planted is returned as a Truth, so tests can
// compare what the pipeline flagged and counted with what was sent.
//
// Output is a pure function of the Config: the same Seed, Start and sizes
// always give the same bytes, because Generate never reads the clock and
// draws every random choice from one seeded PCG stream in a fixed order.
//
// Produce reads such lines back and writes them to a Kafka topic, keyed by
// the raw caller string (source.EnsureTopic creates the topic first).
package traffic
