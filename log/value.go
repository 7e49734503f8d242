package log

import (
	"context"
	"time"
)

// A Valuer computes the value of a field when a record is logged rather than
// when the field is bound. Bind Valuers with With; they are called once per
// record with the context given to WithContext or Helper.WithContext (or
// context.Background()). A Valuer passed directly as a value to one of the
// loggers of this package is called too.
//
// Packages that keep request-scoped data in a context provide Valuers that
// read it, for example:
//
//	func TraceID() log.Valuer {
//		return func(ctx context.Context) any {
//			return trace.SpanContextFromContext(ctx).TraceID().String()
//		}
//	}
//
//	logger = log.With(logger, "trace.id", TraceID())
//	log.NewHelper(logger).WithContext(ctx).Info("handled")
type Valuer func(ctx context.Context) any

// DefaultTimestampLayout is the layout of DefaultTimestamp: RFC 3339 with
// milliseconds.
const DefaultTimestampLayout = "2006-01-02T15:04:05.000Z07:00"

var (
	// DefaultTimestamp is a Valuer for the current local time in
	// DefaultTimestampLayout.
	DefaultTimestamp = Timestamp(DefaultTimestampLayout)

	// DefaultCaller is a Valuer for the file and line that logged the
	// record; it is Caller(0).
	DefaultCaller = Caller(0)
)

// Timestamp returns a Valuer for the current time formatted with layout (see
// time.Layout). The value implements fmt.Stringer and encoding.TextAppender,
// and is formatted by the loggers of this package without allocating.
func Timestamp(layout string) Valuer {
	return func(context.Context) any {
		return timestamp{t: time.Now(), layout: layout}
	}
}

// timestamp is the value of a Timestamp Valuer. The time is taken when the
// Valuer runs and only formatted when the record is written.
type timestamp struct {
	t      time.Time
	layout string
}

// AppendText implements encoding.TextAppender.
func (ts timestamp) AppendText(b []byte) ([]byte, error) {
	return ts.t.AppendFormat(b, ts.layout), nil
}

// MarshalText implements encoding.TextMarshaler.
func (ts timestamp) MarshalText() ([]byte, error) { return ts.AppendText(nil) }

// String implements fmt.Stringer.
func (ts timestamp) String() string { return ts.t.Format(ts.layout) }

// ServiceName returns a Valuer for a service name, for use as
// With(l, "service.name", ServiceName(name)). Like the other constant
// Valuers it costs nothing per record; it exists so that service metadata is
// bound the same way as dynamic fields.
func ServiceName(name string) Valuer { return constant(name) }

// ServiceVersion returns a Valuer for a service version, e.g.
// With(l, "service.version", ServiceVersion("v1.2.0")).
func ServiceVersion(version string) Valuer { return constant(version) }

// ServiceID returns a Valuer for a service instance ID, e.g.
// With(l, "service.id", ServiceID(hostname)).
func ServiceID(id string) Valuer { return constant(id) }

// constant returns a Valuer for v, boxed once.
func constant(v any) Valuer {
	return func(context.Context) any { return v }
}

// With returns a Logger that adds keyvals to every record, before the
// record's own keyvals. Values that are Valuers are called for each record
// (see Valuer), so
//
//	log.With(l, "ts", log.DefaultTimestamp, "caller", log.DefaultCaller)
//
// stamps each record with its time and the user's call site. An odd
// trailing key gets the value "KEYVALS UNPAIRED". Nested With calls are
// flattened into one.
func With(l Logger, keyvals ...any) Logger {
	if c, ok := l.(*ctxLogger); ok {
		// Keep the bound context outermost so that these Valuers see it.
		return WithContext(c.ctx, With(c.next, keyvals...))
	}
	var prefix []any
	if w, ok := l.(*withLogger); ok {
		l = w.next
		prefix = make([]any, 0, len(w.prefix)+len(keyvals)+1)
		prefix = append(prefix, w.prefix...)
	} else {
		prefix = make([]any, 0, len(keyvals)+1)
	}
	prefix = append(prefix, keyvals...)
	if len(prefix)%2 != 0 {
		prefix = append(prefix, unpaired)
	}
	w := &withLogger{next: l, prefix: prefix}
	for i := 1; i < len(prefix); i += 2 {
		if v, ok := prefix[i].(Valuer); ok {
			caller := isCaller(v)
			w.valuers = append(w.valuers, valuerAt{index: i, caller: caller})
			w.wantPC = w.wantPC || caller
		}
	}
	w.wantPC = w.wantPC || wantsPC(l)
	return w
}

// unpaired is the value given to an odd trailing key.
const unpaired = "KEYVALS UNPAIRED"

// withLogger is the Logger made by With.
type withLogger struct {
	next    Logger
	prefix  []any // even length
	valuers []valuerAt
	wantPC  bool
}

// valuerAt locates a Valuer in a With prefix.
type valuerAt struct {
	index  int  // in prefix
	caller bool // Caller(0): use the entry point's pc if there is one
}

// Log implements Logger.
//
//go:noinline
func (w *withLogger) Log(level Level, keyvals ...any) error {
	var pc uintptr
	if w.wantPC {
		pc = entryPC(1)
	}
	return w.logContext(nil, pc, level, keyvals)
}

func (w *withLogger) logContext(ctx context.Context, pc uintptr, level Level, keyvals []any) error {
	kvs := getKVs()
	s := append(*kvs, w.prefix...)
	if len(w.valuers) > 0 {
		vctx := orBackground(ctx)
		for _, v := range w.valuers {
			if v.caller && pc != 0 {
				s[v.index] = source(pc)
				continue
			}
			s[v.index] = s[v.index].(Valuer)(vctx)
		}
	}
	s = append(s, keyvals...)
	*kvs = s
	err := logTo(ctx, pc, w.next, level, s)
	putKVs(kvs)
	return err
}

func (w *withLogger) enabled(ctx context.Context, level Level) bool {
	return enabledFor(ctx, w.next, level)
}

func (w *withLogger) wantsPC() bool { return w.wantPC }
