// Package ids makes the string IDs of the shop's records.
//
//	id := ids.New() // "0193c4f2a9b1d2e37f5c0a9e81b4d6c2"
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// New returns a new 32-hex-digit ID: 48 bits of Unix milliseconds, then 80
// random bits. IDs made later sort after earlier ones (to the
// millisecond), which keeps B-tree inserts at the end of the index.
func New() string {
	var b [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand's documented contract)
	return hex.EncodeToString(b[:])
}
