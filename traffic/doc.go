// Package traffic makes synthetic call detail record (CDR) traffic for
// exercising cdrpipe end to end, and sends it to Kafka.
//
// Generate writes one JSON CDR per line, in roughly increasing start_time
// order, for a population of ordinary subscribers plus a known set of
// planted nuisance callers (fan_out, short_calls, sequential_dialing). It
// mixes in the noise a real feed has: byte-identical re-sends, malformed
// lines, slightly out-of-order and very late records, one record from the
// far future, calls from abroad and withheld caller IDs. Everything it planted is returned as a Truth, so tests can
// compare what the pipeline flagged and counted with what was sent.
//
// Every record is written by a switch of a fixed fleet (Fleet): the
// caller's home switch (HomeSwitch), or the international gateway for the
// calls that come in from abroad. Each switch has its own dialect (call-id
// scheme, time form and zone, precision, clock skew, number forms and
// natures of address, fields, withheld caller IDs), so the traffic is as
// messy as a carrier's feed; the pipeline reads the local times right only
// with input.switch_zones set to SwitchZones(). The Encoder that writes the
// dialects is exported, so other generators (benchmarks/quality) write
// through the same fleet, and its Observe says what the pipeline reads
// from each record, for brute-force truths.
//
// Output is a pure function of the Config: the same Seed, Start and sizes
// always give the same bytes, because Generate never reads the clock and
// draws every random choice from one seeded PCG stream in a fixed order.
//
// Produce reads such lines back and writes them to a Kafka topic, keyed by
// the raw caller string (source.EnsureTopic creates the topic first).
package traffic
