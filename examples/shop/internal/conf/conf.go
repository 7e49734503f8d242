// Package conf holds the configuration blocks every shop service shares
// (servers, database) and loads a service's configuration from a file or
// from the defaults embedded in its binary.
//
//	c, err := conf.Load(embedded, *confPath) // "" = the embedded defaults
//	var bc Bootstrap                          // a service's own, embedding conf.Server...
//	err = conf.Scan(c, &bc)
//
// Values use ${NAME:default} placeholders, so the environment overrides
// them (HTTP_ADDR, GRPC_ADDR, ADMIN_ADDR, DATABASE_DRIVER, DATABASE_DSN,
// DATA_DIR, JWT_SECRET...).
package conf

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/file"
	"github.com/zelos-go/zelos/log"
)

// Server configures a service's servers and its stop.
type Server struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	HTTP    Listen `json:"http"`
	GRPC    Listen `json:"grpc"`
	// Admin serves /metrics, /debug/pprof/ and the probes; an empty Addr
	// turns it off.
	Admin Listen `json:"admin"`
	// DrainDelay is how long a stopping service keeps serving after its
	// readiness failed (zelos.DrainDelay), "5s".
	DrainDelay string `json:"drain_delay"`
	// StopTimeout bounds the graceful stop, "10s".
	StopTimeout string `json:"stop_timeout"`
}

// Listen is where one server listens.
type Listen struct {
	// Addr is host:port; ":0" picks a free port.
	Addr string `json:"addr"`
	// Timeout bounds each request, "5s"; empty means no bound.
	Timeout string `json:"timeout"`
}

// Data configures the service's storage.
type Data struct {
	// Dir holds the SQLite files when Database.DSN is empty.
	Dir      string   `json:"dir"`
	Database Database `json:"database"`
}

// Database names the SQL database.
type Database struct {
	// Driver is sqlite (the default), mysql or postgres.
	Driver string `json:"driver"`
	// DSN is the driver's data source name; empty for sqlite means
	// <Data.Dir>/<service>.db.
	DSN string `json:"dsn"`
}

// Duration parses a configuration duration; "" is zero.
func Duration(key, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("conf: %s: %w", key, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("conf: %s: negative duration %s", key, s)
	}
	return d, nil
}

// Load returns the loaded configuration from path (a file or a directory
// of them), or from embedded when path is "". The caller closes it.
func Load(embedded []byte, path string, logger log.Logger) (config.Config, error) {
	var src config.Source = Bytes(embedded)
	if path != "" {
		src = file.NewSource(path)
	}
	opts := []config.Option{config.WithSource(src)}
	if logger != nil {
		opts = append(opts, config.WithLogger(logger))
	}
	c := config.New(opts...)
	if err := c.Load(); err != nil {
		_ = c.Close()
		if path == "" {
			return nil, fmt.Errorf("conf: embedded defaults: %w", err)
		}
		return nil, fmt.Errorf("conf: %s: %w", path, err)
	}
	return c, nil
}

// Scan decodes c into v strictly: a key v has no field for (a typo such as
// "adress") is an error, not a setting silently ignored.
func Scan(c config.Config, v any) error {
	if err := c.Scan(v, config.Strict()); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	return nil
}

// Bytes is a config.Source over YAML bytes, such as the defaults embedded
// in a binary. Its Watch reports no change, ever.
type Bytes []byte

// Load returns the bytes as one YAML file.
func (b Bytes) Load() ([]*config.KeyValue, error) {
	return []*config.KeyValue{{Key: "config.yaml", Value: b, Format: "yaml"}}, nil
}

// Watch returns a watcher that waits until stopped.
func (b Bytes) Watch() (config.Watcher, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return &idleWatcher{ctx: ctx, cancel: cancel}, nil
}

// idleWatcher never reports a change: embedded bytes do not change.
type idleWatcher struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (w *idleWatcher) Next() ([]*config.KeyValue, error) {
	<-w.ctx.Done()
	return nil, w.ctx.Err()
}

func (w *idleWatcher) Stop() error {
	w.cancel()
	return nil
}
