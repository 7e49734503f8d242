// Package fluent is a log.Logger that sends each record to a fluentd (or
// fluent-bit) forward input, using github.com/fluent/fluent-logger-golang.
//
//	logger, err := fluent.NewLogger("tcp://127.0.0.1:24224", fluent.WithTag("user-service"))
//	if err != nil {
//		return err
//	}
//	defer logger.Close()
//	log.NewHelper(log.With(logger, "caller", log.DefaultCaller)).Infow("msg", "started")
//
// Each record is posted under the tag "<tag>.<level>" (user-service.info),
// so fluentd can route by level, with the level and every key-value pair in
// the record. Values are sent as they are when msgpack can carry them
// (strings, numbers, booleans, nil, byte slices) and as fmt.Sprint text
// otherwise.
package fluent

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"

	"github.com/zelos-go/zelos/log"
)

// Option configures NewLogger.
type Option func(*config)

type config struct {
	tag          string
	timeout      time.Duration
	writeTimeout time.Duration
	bufferLimit  int
	retryWait    int
	maxRetry     int
	async        bool
	ack          bool
}

// WithTag sets the tag prefix. The default is "zelos".
func WithTag(tag string) Option { return func(c *config) { c.tag = tag } }

// WithTimeout sets the connect timeout. The default is 3s.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithWriteTimeout sets the write timeout. The default is none.
func WithWriteTimeout(d time.Duration) Option { return func(c *config) { c.writeTimeout = d } }

// WithBufferLimit sets the bytes buffered while fluentd is unreachable (in
// async mode). The default is fluent-logger-golang's, 8 MiB.
func WithBufferLimit(n int) Option { return func(c *config) { c.bufferLimit = n } }

// WithRetryWait sets the first wait, in milliseconds, before reconnecting.
// The default is fluent-logger-golang's, 500.
func WithRetryWait(ms int) Option { return func(c *config) { c.retryWait = ms } }

// WithMaxRetry sets how many times a post is retried. The default is
// fluent-logger-golang's, 13.
func WithMaxRetry(n int) Option { return func(c *config) { c.maxRetry = n } }

// WithAsync makes posts buffer and send in the background, so that a slow
// or absent fluentd does not slow the service; records buffered when the
// process dies are lost. The default sends synchronously.
func WithAsync(async bool) Option { return func(c *config) { c.async = async } }

// WithRequestAck makes every post wait for fluentd's acknowledgement, so
// that a record is known to have arrived (require_ack_response on the
// fluentd side). The default does not wait.
func WithRequestAck(ack bool) Option { return func(c *config) { c.ack = ack } }

// Logger is a log.Logger posting to fluentd.
type Logger struct {
	f   *fluent.Fluent
	tag string
}

// NewLogger connects to the forward input at addr: "tcp://host:port" or
// "unix:///path/to.sock".
func NewLogger(addr string, opts ...Option) (*Logger, error) {
	c := config{tag: "zelos", timeout: 3 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("fluent: address %q: %w", addr, err)
	}
	fc := fluent.Config{
		Timeout:      c.timeout,
		WriteTimeout: c.writeTimeout,
		BufferLimit:  c.bufferLimit,
		RetryWait:    c.retryWait,
		MaxRetry:     c.maxRetry,
		Async:        c.async,
		RequestAck:   c.ack,
	}
	switch u.Scheme {
	case "tcp":
		host, port, ok := strings.Cut(u.Host, ":")
		p, err := strconv.Atoi(port)
		if !ok || err != nil || host == "" {
			return nil, fmt.Errorf("fluent: address %q: want tcp://host:port", addr)
		}
		fc.FluentNetwork, fc.FluentHost, fc.FluentPort = "tcp", host, p
	case "unix":
		fc.FluentNetwork, fc.FluentSocketPath = "unix", u.Path
	default:
		return nil, fmt.Errorf("fluent: address %q: scheme must be tcp or unix", addr)
	}
	f, err := fluent.New(fc)
	if err != nil {
		return nil, fmt.Errorf("fluent: connect to %s: %w", addr, err)
	}
	return &Logger{f: f, tag: c.tag}, nil
}

// Log implements log.Logger.
func (l *Logger) Log(level log.Level, keyvals ...any) error {
	record := make(map[string]any, len(keyvals)/2+1)
	record[log.LevelKey] = level.String()
	for i := 0; i < len(keyvals); i += 2 {
		var v any = "KEYVALS UNPAIRED"
		if i+1 < len(keyvals) {
			v = keyvals[i+1]
		}
		record[fmt.Sprint(keyvals[i])] = value(v)
	}
	if err := l.f.Post(l.tag+"."+strings.ToLower(level.String()), record); err != nil {
		return fmt.Errorf("fluent: post: %w", err)
	}
	return nil
}

// value keeps what msgpack carries natively and turns the rest into text,
// so that a record never fails to encode.
func value(v any) any {
	switch v := v.(type) {
	case nil, string, bool, []byte,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return v
	case time.Duration:
		return v.String()
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// Close flushes buffered records and closes the connection.
func (l *Logger) Close() error { return l.f.Close() }
