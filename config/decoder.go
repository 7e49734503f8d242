package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	yamlcodec "github.com/zelos-go/zelos/encoding/yaml"
)

// Decoder decodes one KeyValue into target, an empty map that Config then
// merges over the sources before it. Values must be built from
// map[string]any, []any, string, bool, integers, floats and nil; Config
// normalizes integers to int64 and floats to float64.
//
// KeyValues with Format FormatEnv never reach the Decoder: Config matches
// them against the merged tree itself.
type Decoder func(kv *KeyValue, target map[string]any) error

// DefaultDecoder decodes the formats "yaml", "yml" and "json". A KeyValue
// with an empty Format stores its Value as a string at the dotted path Key.
func DefaultDecoder(kv *KeyValue, target map[string]any) error {
	switch strings.ToLower(kv.Format) {
	case "":
		if kv.Key == "" {
			return fmt.Errorf("config: flat value with empty key")
		}
		setPath(target, strings.Split(kv.Key, "."), string(kv.Value))
		return nil
	case "yaml", "yml":
		if err := unmarshalYAML(kv.Value, target); err != nil {
			return fmt.Errorf("config: decode %q as yaml: %w", kv.Key, err)
		}
		return nil
	case "json":
		if len(bytes.TrimSpace(kv.Value)) == 0 {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader(kv.Value))
		d.UseNumber()
		// Decoding into target itself, not a map then copied, saves a
		// second of a 1M-key file's load.
		if err := d.Decode(&target); err != nil {
			return fmt.Errorf("config: decode %q as json: %w", kv.Key, err)
		}
		return nil
	default:
		return fmt.Errorf("config: decode %q: unsupported format %q", kv.Key, kv.Format)
	}
}

// unmarshalYAML decodes a YAML mapping into target through the YAML codec, which
// decodes in linear time (yaml.v3 alone compares every pair of keys in a
// mapping, so a 1M-key file never finished) and turns yaml.v3's panics on
// malformed documents into errors. Config files are the operator's own, so
// the codec's size bound for request bodies does not apply.
func unmarshalYAML(data []byte, target map[string]any) error {
	if err := (yamlcodec.Codec{MaxSize: -1}).Unmarshal(data, &target); err != nil {
		// Drop the codec's "yaml: unmarshal into *map[string]interface {}"
		// prefix: callers name the file.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return err
	}
	return nil
}

// normalize converts a decoded value into the tree's canonical types:
// map[string]any, []any, string, bool, int64, float64 and nil.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normalizeUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normalizeUint(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case time.Time: // a YAML timestamp: keep a plain date a date
		if x.Location() == time.UTC && x.Equal(x.Truncate(24*time.Hour)) {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

func normalizeUint(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return float64(u)
}

// coerce converts text to the type of like (bool, int64 or float64) when it
// parses as one; otherwise it returns text unchanged.
func coerce(text string, like any) any {
	switch like.(type) {
	case bool:
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case int64:
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i
		}
	case float64:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}

// infer gives text a scalar type when it is the canonical spelling of one:
// "true", "false", "42", "1.5". Anything else ("007", "1.10", "1e3") stays a
// string, so that only unambiguous literals change type.
func infer(text string) any {
	switch text {
	case "true":
		return true
	case "false":
		return false
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil && strconv.FormatInt(i, 10) == text {
		return i
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) &&
		strconv.FormatFloat(f, 'f', -1, 64) == text {
		return f
	}
	return text
}
