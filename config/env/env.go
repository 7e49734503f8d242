// Package env provides a config.Source reading environment variables.
package env

import (
	"os"
	"strings"

	"github.com/zelos-go/zelos/config"
)

type source struct {
	prefixes []string
}

// NewSource returns a Source of the environment variables that start with
// one of prefixes, given with or without the trailing underscore: with
// "APP_" (or "APP"), APP_HTTP_ADDR=:8080 becomes the KeyValue "HTTP_ADDR"
// with Format config.FormatEnv, which Config merges onto the key "http.addr"
// (or "http_addr", or any spelling matching case-insensitively; see
// config.FormatEnv). Variables are matched by the first prefix that fits.
// With no prefixes, every variable is read.
func NewSource(prefixes ...string) config.Source {
	return &source{prefixes: prefixes}
}

// String names the source in errors and logs.
func (s *source) String() string {
	return "env " + strings.Join(s.prefixes, ",")
}

func (s *source) Load() ([]*config.KeyValue, error) {
	var kvs []*config.KeyValue
	for _, e := range os.Environ() {
		name, val, ok := strings.Cut(e, "=")
		if !ok {
			continue
		}
		key, ok := s.strip(name)
		if !ok || key == "" {
			continue
		}
		kvs = append(kvs, &config.KeyValue{Key: key, Value: []byte(val), Format: config.FormatEnv})
	}
	return kvs, nil
}

// strip removes the first matching prefix from name.
func (s *source) strip(name string) (string, bool) {
	if len(s.prefixes) == 0 {
		return name, true
	}
	for _, p := range s.prefixes {
		rest, ok := strings.CutPrefix(name, p)
		if !ok {
			continue
		}
		if strings.HasSuffix(p, "_") || p == "" {
			return rest, true
		}
		if rest, ok := strings.CutPrefix(rest, "_"); ok {
			return rest, true
		}
	}
	return "", false
}

// Watch returns a nil Watcher: the environment of a running process does
// not change.
func (s *source) Watch() (config.Watcher, error) {
	return nil, nil
}
