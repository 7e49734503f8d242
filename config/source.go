package config

// FormatEnv is the KeyValue.Format of flat keys read from environment
// variables (see package config/env). The key is an underscore-separated
// name such as "HTTP_ADDR" with the prefix removed. When merging, Config maps
// it onto the existing key whose path matches case-insensitively, where each
// underscore may stand for either a dot or an underscore (so "PAGE_SIZE"
// finds "page_size" as well as "page.size"); when no key matches, the name
// becomes an all-dots, lower-case path ("page.size"). The text is converted
// to the type of the value it replaces (bool, integer or float) when it
// parses as one, and stays a string otherwise.
const FormatEnv = "env"

// KeyValue is one unit of configuration read by a Source: usually a whole
// file (Key is its path, Format its extension such as "yaml" or "json"), or
// a single flat value.
//
// An empty Format means Key is a dotted path ("http.addr") and Value the raw
// string to store there. FormatEnv marks an environment variable.
type KeyValue struct {
	Key    string // file path, dotted key, or environment variable name
	Value  []byte // raw content
	Format string // "yaml", "json", ..., "" for a flat value, or FormatEnv
}

// Source supplies configuration. Config calls Load once per Config.Load and
// Watch once, after the first successful Load.
type Source interface {
	// Load reads the current configuration.
	Load() ([]*KeyValue, error)
	// Watch starts watching for changes. A Source that never changes may
	// return a nil Watcher and a nil error.
	Watch() (Watcher, error)
}

// Watcher reports changes of a Source.
type Watcher interface {
	// Next blocks until the Source changes and returns its complete new
	// configuration (the same shape Source.Load returns). After Stop, Next
	// returns an error promptly.
	Next() ([]*KeyValue, error)
	// Stop releases the Watcher and unblocks Next. It may be called from a
	// goroutine other than the one blocked in Next.
	Stop() error
}
