package log

import "sync"

// Buffers larger than this are dropped instead of being returned to their
// pool, so that one huge record does not pin memory forever.
const (
	maxPooledBytes = 64 << 10
	maxPooledKVs   = 256
)

// bufPool holds *[]byte scratch buffers for the text and JSON encoders.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBytes {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// kvPool holds *[]any scratch slices used to assemble keyvals on their way
// down a logger chain. They let Helper, With and Filter pass a record to the
// next Logger without allocating; Loggers of other packages get a copy (see
// logTo).
var kvPool = sync.Pool{New: func() any {
	s := make([]any, 0, 32)
	return &s
}}

func getKVs() *[]any { return kvPool.Get().(*[]any) }

func putKVs(s *[]any) {
	if cap(*s) > maxPooledKVs {
		return
	}
	clear(*s) // drop references so pooled slices do not keep values alive
	*s = (*s)[:0]
	kvPool.Put(s)
}
