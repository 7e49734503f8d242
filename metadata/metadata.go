// Package metadata carries request metadata across service hops.
//
// Keys are case-insensitive (stored lower-case). Two prefixes control
// propagation through the metadata middleware:
//   - x-md-global-* crosses every hop: a server receiving it passes it on to
//     every call it makes;
//   - x-md-local-* crosses one hop only: the server sees it, its own outgoing
//     calls do not carry it.
package metadata

import (
	"context"
	"maps"
	"strings"
)

// The propagation prefixes.
const (
	GlobalPrefix = "x-md-global-"
	LocalPrefix  = "x-md-local-"
)

// Metadata maps lower-case keys to values.
type Metadata map[string][]string

// New returns Metadata holding the given maps' pairs.
func New(mds ...map[string][]string) Metadata {
	md := Metadata{}
	for _, m := range mds {
		for k, vs := range m {
			for _, v := range vs {
				md.Add(k, v)
			}
		}
	}
	return md
}

// Pairs returns Metadata from alternating keys and values. A trailing key
// without a value is ignored.
func Pairs(kv ...string) Metadata {
	md := make(Metadata, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		md.Add(kv[i], kv[i+1])
	}
	return md
}

// Get returns the first value of key, or "".
func (m Metadata) Get(key string) string {
	if vs := m[strings.ToLower(key)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Values returns every value of key.
func (m Metadata) Values(key string) []string { return m[strings.ToLower(key)] }

// Set replaces the values of key with value.
func (m Metadata) Set(key, value string) { m[strings.ToLower(key)] = []string{value} }

// Add appends value to the values of key.
func (m Metadata) Add(key, value string) {
	k := strings.ToLower(key)
	m[k] = append(m[k], value)
}

// Delete removes key.
func (m Metadata) Delete(key string) { delete(m, strings.ToLower(key)) }

// Range calls f for each key and its values until f returns false.
func (m Metadata) Range(f func(key string, values []string) bool) {
	for k, vs := range m {
		if !f(k, vs) {
			return
		}
	}
}

// Clone returns a deep copy of m.
func (m Metadata) Clone() Metadata {
	c := make(Metadata, len(m))
	for k, vs := range m {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// Merge returns a copy of m with the keys of others added; later values of a
// key replace earlier ones.
func (m Metadata) Merge(others ...Metadata) Metadata {
	c := m.Clone()
	for _, o := range others {
		maps.Copy(c, o.Clone())
	}
	return c
}

// IsPropagated reports whether key is forwarded by a server's outgoing calls:
// that is, whether it has the global prefix.
func IsPropagated(key string) bool {
	return hasPrefixFold(key, GlobalPrefix)
}

// IsMetadataKey reports whether key is a Zelos metadata key, global or local.
func IsMetadataKey(key string) bool {
	return hasPrefixFold(key, GlobalPrefix) || hasPrefixFold(key, LocalPrefix)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

type serverKey struct{}
type clientKey struct{}

// NewServerContext returns ctx carrying md as the incoming metadata.
func NewServerContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, serverKey{}, md)
}

// FromServerContext returns the incoming metadata in ctx.
func FromServerContext(ctx context.Context) (Metadata, bool) {
	md, ok := ctx.Value(serverKey{}).(Metadata)
	return md, ok
}

// NewClientContext returns ctx carrying md as the outgoing metadata,
// replacing any there.
func NewClientContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, clientKey{}, md)
}

// FromClientContext returns the outgoing metadata in ctx.
func FromClientContext(ctx context.Context) (Metadata, bool) {
	md, ok := ctx.Value(clientKey{}).(Metadata)
	return md, ok
}

// AppendToClientContext returns ctx with the alternating keys and values
// added to its outgoing metadata. The metadata already in ctx is not
// modified.
func AppendToClientContext(ctx context.Context, kv ...string) context.Context {
	md, _ := FromClientContext(ctx)
	md = md.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		md.Set(kv[i], kv[i+1])
	}
	return NewClientContext(ctx, md)
}

// MergeToClientContext returns ctx with md merged into its outgoing
// metadata.
func MergeToClientContext(ctx context.Context, md Metadata) context.Context {
	old, _ := FromClientContext(ctx)
	return NewClientContext(ctx, old.Merge(md))
}
