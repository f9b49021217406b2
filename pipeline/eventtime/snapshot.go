package eventtime

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// A partition's progress travels with its committed offset (in the
// commit's metadata), so whoever reads the partition next, after a
// restart or a rebalance, starts from the state the partition had right
// before that offset and judges every later record exactly as an
// uninterrupted run did. What is saved is what lateness depends on: the
// outlier guard, the frontier, the median source and each source's
// latest start. Source names (for skew reports) and skew samples are not:
// reports start afresh.

// snapshotVersion starts every snapshot, so a format change is detected.
const snapshotVersion = 1

// MaxSnapshot is the longest snapshot Snapshot returns, in bytes of text:
// brokers refuse commit metadata over offset.metadata.max.bytes (4096 by
// default).
const MaxSnapshot = 4000

// Snapshot returns partition's progress as text for a commit's metadata,
// or "" while nothing is known of it. Past MaxSnapshot (hundreds of
// switches in one partition), the sources far behind, which hold nothing
// back, are left out, then the oldest others: the restored progress is
// then close to, not exactly, the one saved.
func (w *Watermark) Snapshot(partition int) string {
	p := w.get(partition)
	if p == nil || p.n == 0 {
		return ""
	}
	keep := p.list
	for {
		s := base64.RawStdEncoding.EncodeToString(p.encode(keep))
		if len(s) <= MaxSnapshot {
			return s
		}
		keep = p.trim(keep, w.maxLag)
	}
}

// trim returns list less a quarter of its sources: those far behind
// first, then the ones whose latest start is oldest.
func (p *partition) trim(list []*source, maxLag int64) []*source {
	out := make([]*source, 0, len(list))
	for _, s := range list {
		if s.has && s.latest >= p.median-maxLag {
			out = append(out, s)
		}
	}
	if len(out) < len(list) {
		return out
	}
	drop := max(1, len(list)/4)
	oldest := make([]*source, len(list))
	copy(oldest, list)
	for range drop {
		i := 0
		for j, s := range oldest {
			if s != nil && (oldest[i] == nil || s.latest < oldest[i].latest) {
				i = j
			}
		}
		oldest[i] = nil
	}
	out = out[:0]
	for _, s := range oldest {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// encode writes the partition's progress with sources list. Times are
// varints relative to the guard's smallest start; sources are keyed by
// the low 32 bits of their key, which suffice to tell a partition's
// switches apart and keep the snapshot short.
func (p *partition) encode(list []*source) []byte {
	b := []byte{snapshotVersion}
	base := p.top[0]
	b = binary.AppendVarint(b, base)
	b = binary.AppendUvarint(b, uint64(p.n))
	for _, t := range p.top[:p.n] {
		b = binary.AppendVarint(b, t-base)
	}
	b = appendBool(b, p.known)
	b = binary.AppendVarint(b, p.frontier-base)
	b = binary.AppendVarint(b, p.median-base)
	b = binary.AppendUvarint(b, uint64(p.current))
	b = binary.AppendUvarint(b, uint64(p.since))
	b = binary.AppendVarint(b, p.base)
	b = binary.AppendVarint(b, p.lo-base)
	lo := -1
	b = binary.AppendUvarint(b, uint64(len(list)))
	for i, s := range list {
		if s == p.loSrc {
			lo = i
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(s.key))
		b = appendBool(b, s == p.other)
		b = appendBool(b, s.has)
		b = binary.AppendVarint(b, s.latest-base)
	}
	return binary.AppendVarint(b, int64(lo))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// Restore sets partition's progress from a snapshot. "" leaves the
// partition unknown, as a partition never read is.
func (w *Watermark) Restore(partition int, snapshot string) error {
	if snapshot == "" {
		return nil
	}
	data, err := base64.RawStdEncoding.DecodeString(snapshot)
	if err != nil {
		return fmt.Errorf("event-time snapshot of partition %d: %w", partition, err)
	}
	p := newPartition()
	if err := p.decode(data); err != nil {
		return fmt.Errorf("event-time snapshot of partition %d: %w", partition, err)
	}
	for len(w.parts) <= partition {
		w.parts = append(w.parts, nil)
	}
	if old := w.parts[partition]; old != nil {
		p.lastSeenUnix = old.lastSeenUnix
	}
	w.parts[partition] = p
	return nil
}

var errSnapshot = errors.New("malformed")

// decode reads what encode wrote. Restored sources are filed under their
// 32-bit key until their first record brings the full one (source).
func (p *partition) decode(b []byte) error {
	r := reader{b: b}
	if r.byte() != snapshotVersion {
		return fmt.Errorf("%w: unknown version", errSnapshot)
	}
	base := r.varint()
	p.n = int(r.uvarint())
	if p.n > frontierRank {
		return fmt.Errorf("%w: %d guard entries", errSnapshot, p.n)
	}
	for i := range p.n {
		p.top[i] = base + r.varint()
	}
	p.known = r.byte() == 1
	p.frontier = base + r.varint()
	p.median = base + r.varint()
	p.current = int(r.uvarint())
	p.since = int(r.uvarint())
	p.base = r.varint()
	p.lo = base + r.varint()
	n := r.uvarint()
	if n > maxSources+1 {
		return fmt.Errorf("%w: %d sources", errSnapshot, n)
	}
	for range n {
		key := r.uint32()
		other := r.byte() == 1
		s := &source{has: r.byte() == 1}
		s.latest = base + r.varint()
		p.list = append(p.list, s)
		if other {
			s.name = otherSources
			p.other = s
			continue
		}
		if p.restored == nil {
			p.restored = make(map[uint32]*source)
		}
		p.restored[key] = s
	}
	if lo := r.varint(); lo >= 0 && lo < int64(len(p.list)) {
		p.loSrc = p.list[lo]
	}
	return r.err
}

// reader reads a snapshot, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated", errSnapshot)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint32() uint32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}
