package recovery_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/recovery"
)

// captureLogger records what is logged to it.
type captureLogger struct {
	mu      sync.Mutex
	records []record
}

type record struct {
	level log.Level
	kv    []any
}

func (l *captureLogger) Log(level log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, record{level, append([]any(nil), kv...)})
	return nil
}

func (r record) get(key string) any {
	for i := 0; i+1 < len(r.kv); i += 2 {
		if r.kv[i] == key {
			return r.kv[i+1]
		}
	}
	return nil
}

func panicking(context.Context, any) (any, error) { panic("boom") }

func TestRecoveryTurnsPanicIntoError(t *testing.T) {
	logger := &captureLogger{}
	h := recovery.Recovery(recovery.WithLogger(logger))(panicking)
	reply, err := h(context.Background(), "req")
	if reply != nil {
		t.Errorf("reply = %v, want nil", reply)
	}
	want := errors.InternalServer(recovery.Reason, "internal server error")
	var got *errors.Error
	if !errors.As(err, &got) || !got.Equal(want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	var pe *recovery.PanicError
	if !errors.As(errors.Cause(err), &pe) || pe.Value != "boom" {
		t.Errorf("cause = %v, want the panic value", errors.Cause(err))
	}
	if len(logger.records) != 1 {
		t.Fatalf("logged %d records, want 1", len(logger.records))
	}
	rec := logger.records[0]
	if rec.level != log.LevelError || rec.get("panic") != "boom" {
		t.Errorf("record = %v %v", rec.level, rec.kv)
	}
	if stack, _ := rec.get("stack").(string); !strings.Contains(stack, "recovery_test.go") {
		t.Errorf("stack does not show the panicking code:\n%s", stack)
	}
}

func TestRecoveryErrorPanicIsUnwrappable(t *testing.T) {
	cause := fmt.Errorf("disk on fire")
	h := recovery.Recovery(recovery.WithLogger(&captureLogger{}))(func(context.Context, any) (any, error) { panic(cause) })
	if _, err := h(context.Background(), nil); !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap the panicked error", err)
	}
}

func TestRecoveryWithHandler(t *testing.T) {
	var gotReq, gotPanic any
	h := recovery.Recovery(
		recovery.WithLogger(&captureLogger{}),
		recovery.WithHandler(func(_ context.Context, req, v any) error {
			gotReq, gotPanic = req, v
			return errors.ServiceUnavailable("TRY_LATER", "later")
		}),
	)(panicking)
	_, err := h(context.Background(), "req")
	if errors.Reason(err) != "TRY_LATER" || gotReq != "req" || gotPanic != "boom" {
		t.Errorf("error = %v, handler saw req %v panic %v", err, gotReq, gotPanic)
	}
}

func TestRecoveryPassesThrough(t *testing.T) {
	h := recovery.Recovery()(func(_ context.Context, req any) (any, error) { return req, nil })
	ctx := context.Background()
	if reply, err := h(ctx, "x"); reply != "x" || err != nil {
		t.Errorf("h = %v, %v", reply, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = h(ctx, "x") }); n != 0 {
		t.Errorf("recovery allocates %v times per request without a panic, want 0", n)
	}
}

func TestRecoveryReraisesAbortHandler(t *testing.T) {
	h := recovery.Recovery(recovery.WithLogger(&captureLogger{}))(func(context.Context, any) (any, error) {
		panic(http.ErrAbortHandler)
	})
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	_, _ = h(context.Background(), nil)
	t.Error("http.ErrAbortHandler was swallowed")
}
