package decode

import "unsafe"

// chunkSize is the size of one arena chunk. A typical record keeps about
// 100 bytes of strings, so one allocation serves some 600 records, while a
// chunk kept alive by a single long-lived string wastes little.
const chunkSize = 64 << 10

// maxArenaString is the longest string carved from a chunk. Longer ones
// (only hostile or broken records have them) get their own allocation,
// so they cannot waste most of a chunk.
const maxArenaString = 1 << 10

// arena hands out immutable strings carved from large byte chunks, so the
// strings of a record cost a share of one allocation instead of one each.
//
// The rule that makes this safe: bytes are only ever appended to a chunk,
// and bytes already handed out are never written again. A full chunk is
// dropped, never reset or reused, because the records pointing into it
// live on (until the sink batch holding them is written, asynchronously);
// the GC frees a chunk once no string refers to it.
type arena struct {
	// buf is the current chunk; its first len(buf) bytes are handed out
	// (or abandoned: a rejected record's strings may stay, unused).
	buf []byte
}

// reserve makes room for n more bytes in the current chunk, starting a
// new chunk when it is full. The old chunk is left to the GC.
func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(chunkSize, n))
	}
}

// clone returns a copy of b as a string that lives in the arena.
func (a *arena) clone(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxArenaString {
		return string(b)
	}
	a.reserve(len(b))
	from := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.since(from)
}

// since returns the bytes appended after offset from as a string. From
// then on those bytes belong to the string and must not change.
func (a *arena) since(from int) string {
	if len(a.buf) == from {
		return ""
	}
	return unsafe.String(&a.buf[from], len(a.buf)-from)
}
