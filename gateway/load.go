package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/file"
	"github.com/zelos-go/zelos/log"
)

// ParseConfig parses and validates a YAML gateway configuration; name (a
// file name) prefixes its errors. ${VAR} and ${VAR:default} placeholders
// are resolved from the environment, as in every Zelos configuration.
//
// Every problem is reported, one a line, as name:line: field: what, for
// example
//
//	gateway.yaml:12: endpoints[1].backends[0].target: "htp://x" is not discovery:///name or an http(s)/grpc URL
func ParseConfig(data []byte, name string) (*Config, error) {
	return loadOnce(bytesSource{name: name, data: data})
}

// LoadConfig reads, parses and validates the configuration file at path,
// as ParseConfig does.
func LoadConfig(path string) (*Config, error) { return loadOnce(file.NewSource(path)) }

// loadOnce loads src and closes it: its problems are returned, not logged.
func loadOnce(src config.Source) (*Config, error) {
	c, cfg, err := (&loader{}).load(src, log.NewFilter(log.DefaultLogger, log.FilterLevel(log.LevelFatal)))
	if c != nil {
		_ = c.Close()
	}
	return cfg, err
}

// load reads src through Zelos's config package, with l as its decoder,
// and returns the still open config.Config (nil on error) and the
// validated configuration.
func (l *loader) load(src config.Source, logger log.Logger) (config.Config, *Config, error) {
	c := config.New(config.WithSource(src), config.WithDecoder(l.decode), config.WithLogger(logger))
	if err := c.Load(); err != nil {
		_ = c.Close()
		return nil, nil, unwrapLoad(err)
	}
	cfg, err := l.scan(c)
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return c, cfg, nil
}

// unwrapLoad returns the decoder's own error when config wrapped it, so
// the message starts with file:line.
func unwrapLoad(err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	return fmt.Errorf("gateway: %w", err)
}

// ConfigError lists the problems of a configuration file, each with its
// file and line.
type ConfigError struct {
	// Problems are "file:line: field: what", in file order.
	Problems []string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return "gateway: invalid configuration:\n\t" + strings.Join(e.Problems, "\n\t")
}

// loader decodes one source's file for config, checking it against the
// schema, and remembers its YAML tree so that later checks, on the resolved
// values, can name lines too.
type loader struct {
	mu   sync.Mutex
	name string
	root *yaml.Node
}

// decode is the config.Decoder: the raw file must match the schema
// (unknown fields and bad values are refused here with their lines), then
// it is decoded as config would.
func (l *loader) decode(kv *config.KeyValue, target map[string]any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(kv.Value, &root); err != nil {
		return &ConfigError{Problems: []string{fmt.Sprintf("%s: %s", kv.Key, strings.TrimPrefix(err.Error(), "yaml: "))}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(kv.Value))
	dec.KnownFields(true)
	var probe Config
	if err := dec.Decode(&probe); err != nil && !errors.Is(err, io.EOF) {
		if p := typeProblems(kv.Key, err, &root); len(p) > 0 {
			return &ConfigError{Problems: p}
		}
	}
	l.mu.Lock()
	l.name, l.root = kv.Key, &root
	l.mu.Unlock()
	return config.DefaultDecoder(kv, target)
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// typeProblems turns yaml.v3's errors into file:line problems, leaving out
// those on values holding a ${placeholder}, which are checked once resolved.
func typeProblems(name string, err error, root *yaml.Node) []string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []string{fmt.Sprintf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	var out []string
	for _, e := range te.Errors {
		m := lineRE.FindStringSubmatch(e)
		if m == nil {
			out = append(out, name+": "+e)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if hasPlaceholderAt(root, line) {
			continue
		}
		msg := m[2]
		if f := notFoundRE.FindStringSubmatch(msg); f != nil {
			msg = fmt.Sprintf("unknown field %q", f[1])
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", name, line, msg))
	}
	return out
}

var notFoundRE = regexp.MustCompile(`^field (\S+) not found in type`)

// hasPlaceholderAt reports whether a scalar on line holds "${".
func hasPlaceholderAt(n *yaml.Node, line int) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.Line == line && strings.Contains(n.Value, "${") {
		return true
	}
	for _, c := range n.Content {
		if hasPlaceholderAt(c, line) {
			return true
		}
	}
	return false
}

// scan decodes the resolved configuration and validates it.
func (l *loader) scan(c config.Config) (*Config, error) {
	var cfg Config
	if err := c.Scan(&cfg); err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", l.name, err)
	}
	if errs := validate(&cfg); len(errs) > 0 {
		return nil, l.problems(errs)
	}
	return &cfg, nil
}

// problems formats field errors with the lines of their fields.
func (l *loader) problems(errs []*fieldError) *ConfigError {
	l.mu.Lock()
	name, root := l.name, l.root
	l.mu.Unlock()
	ce := &ConfigError{}
	for _, e := range errs {
		line := lineOf(root, e.path)
		ce.Problems = append(ce.Problems, fmt.Sprintf("%s:%d: %s: %s", name, line, e.path, e.msg))
	}
	return ce
}

// lineOf finds the line of the field at path, such as
// "endpoints[2].backends[0].target", in the YAML tree; it falls back to the
// nearest existing parent, and to line 1.
func lineOf(root *yaml.Node, path string) int {
	if root == nil {
		return 1
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range splitPath(path) {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return max(line, 1)
}

// splitPath splits "a.b[2].c" into a, b, 2, c.
func splitPath(path string) []string {
	path = strings.ReplaceAll(path, "[", ".")
	path = strings.ReplaceAll(path, "]", "")
	return strings.FieldsFunc(path, func(r rune) bool { return r == '.' })
}

// bytesSource is a config.Source over bytes in memory.
type bytesSource struct {
	name string
	data []byte
}

func (s bytesSource) Load() ([]*config.KeyValue, error) {
	return []*config.KeyValue{{Key: s.name, Value: s.data, Format: "yaml"}}, nil
}

func (s bytesSource) Watch() (config.Watcher, error) { return nil, nil }
