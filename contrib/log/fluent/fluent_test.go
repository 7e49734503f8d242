package fluent_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/contrib/log/fluent"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func wait(t *testing.T, r *receiver, n int) []event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.all()) < n {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("received %d events, want %d: %v", len(r.all()), n, r.all())
		}
	}
	return r.all()
}

type stringer struct{}

func (stringer) String() string { return "as text" }

func callerOf(skip int) string {
	_, file, line, _ := runtime.Caller(skip + 1)
	parts := strings.Split(file, "/")
	return fmt.Sprintf("%s/%s:%d", parts[len(parts)-2], parts[len(parts)-1], line)
}

func TestPostsRecords(t *testing.T) {
	for _, mode := range []struct{ async, ack bool }{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("async=%v,ack=%v", mode.async, mode.ack), func(t *testing.T) {
			r := newReceiver(t)
			l, err := fluent.NewLogger(r.addr(), fluent.WithTag("user-service"), fluent.WithAsync(mode.async), fluent.WithRequestAck(mode.ack))
			if err != nil {
				t.Fatal(err)
			}
			h := log.NewHelper(log.With(l, "caller", log.DefaultCaller))
			want := callerOf(0)
			h.Infow("msg", "login", "user", "alice", "attempt", 2, "ok", true, "took", 1500*time.Millisecond, "err", errors.New("none"), "s", stringer{}, "odd")
			h.Error("boom")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			got := wait(t, r, 2)
			e := got[0]
			if e.tag != "user-service.info" {
				t.Fatalf("tag = %q", e.tag)
			}
			rec := e.record
			i := strings.LastIndex(want, ":")
			var n int
			fmt.Sscan(want[i+1:], &n)
			checks := map[string]any{
				"level": "INFO", "msg": "login", "user": "alice", "ok": true, "took": "1.5s",
				"err": "none", "s": "as text", "odd": "KEYVALS UNPAIRED", "caller": fmt.Sprintf("%s:%d", want[:i], n+1),
			}
			for k, v := range checks {
				if rec[k] != v {
					t.Errorf("%s = %#v, want %#v", k, rec[k], v)
				}
			}
			if fmt.Sprint(rec["attempt"]) != "2" {
				t.Errorf("attempt = %#v", rec["attempt"])
			}
			if got[1].tag != "user-service.error" || got[1].record["msg"] != "boom" {
				t.Errorf("second event = %v", got[1])
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:24224", "http://x:1", "tcp://noport", "tcp://:1", "::"} {
		t.Run(addr, func(t *testing.T) {
			if _, err := fluent.NewLogger(addr); err == nil || !strings.HasPrefix(err.Error(), "fluent: ") {
				t.Fatalf("err = %v, want a fluent: error", err)
			}
		})
	}
	// Nothing listens: the synchronous logger cannot connect.
	l, err := fluent.NewLogger("tcp://127.0.0.1:1", fluent.WithTimeout(200*time.Millisecond), fluent.WithMaxRetry(1), fluent.WithRetryWait(10))
	if err == nil {
		if err := l.Log(log.LevelInfo, "msg", "lost"); err == nil {
			t.Error("posting to a closed port succeeded")
		}
		_ = l.Close()
	}
}

func TestUnixSocket(t *testing.T) {
	r := newReceiverOn(t, "unix", t.TempDir()+"/fluent.sock")
	l, err := fluent.NewLogger(r.addr(), fluent.WithTimeout(time.Second), fluent.WithWriteTimeout(time.Second), fluent.WithBufferLimit(1<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(log.LevelWarn, "msg", "over a unix socket"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, r, 1)[0]; e.tag != "zelos.warn" || e.record["msg"] != "over a unix socket" {
		t.Fatalf("event = %v", e)
	}
}
