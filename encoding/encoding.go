// Package encoding defines the Codec interface used by the transports to
// turn messages into bytes and back, and a process-wide registry of codecs
// keyed by content subtype ("json" for application/json, "proto" for
// application/x-protobuf, and so on).
//
// This package does not import any codec implementation. Each subpackage
// (encoding/json, encoding/proto, encoding/yaml, encoding/xml, encoding/form)
// registers itself from its init function, so a program makes a codec
// available by importing its package, usually for side effects only:
//
//	import _ "github.com/zelos-go/zelos/encoding/json"
//
// The HTTP transport imports all five, so servers and clients built on it
// can rely on every built-in codec being registered.
package encoding

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Codec marshals values to bytes and unmarshals bytes into values for one
// content subtype. Implementations must be safe for concurrent use.
type Codec interface {
	// Marshal returns the encoding of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal parses data and stores the result in the value pointed to by v.
	Unmarshal(data []byte, v any) error
	// Name returns the content subtype the codec handles, such as "json".
	// Names are case-insensitive and stored in lower case.
	Name() string
}

var (
	registryMu sync.Mutex
	// registry holds an immutable map that is replaced on every
	// registration, so GetCodec is a single atomic load and a map lookup.
	registry atomic.Pointer[map[string]Codec]
)

// RegisterCodec makes codec available under codec.Name(), replacing any codec
// previously registered under the same name. It is meant to be called from
// init functions. It panics if codec is nil or its name is empty.
func RegisterCodec(codec Codec) {
	if codec == nil {
		panic("encoding: RegisterCodec called with a nil codec")
	}
	name := strings.ToLower(codec.Name())
	if name == "" {
		panic("encoding: RegisterCodec called with a codec whose Name is empty")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	var old map[string]Codec
	if p := registry.Load(); p != nil {
		old = *p
	}
	next := make(map[string]Codec, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = codec
	registry.Store(&next)
}

// GetCodec returns the codec registered under name, compared
// case-insensitively, or nil if there is none.
func GetCodec(name string) Codec {
	p := registry.Load()
	if p == nil {
		return nil
	}
	return (*p)[strings.ToLower(name)]
}
