package http

import (
	"context"
	nethttp "net/http"
	"sync"
	"testing"
	"time"
)

// remainingAt serves one request with header value v (unless empty) on a
// server with opts, and returns the time its handler had left, or false if
// its context had no deadline.
func remainingAt(t *testing.T, v string, opts ...ServerOption) (time.Duration, bool) {
	t.Helper()
	var left time.Duration
	var ok bool
	srv, base := startServer(t, opts...)
	srv.Route("/").GET("/dl", func(ctx Context) error {
		var dl time.Time
		dl, ok = ctx.Deadline()
		left = time.Until(dl)
		return ctx.String(200, "ok")
	})
	req, _ := nethttp.NewRequest("GET", base+"/dl", nil)
	if v != "" {
		req.Header.Set(TimeoutHeader, v)
	}
	res, err := testClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	return left, ok
}

func TestServerTimeoutHeader(t *testing.T) {
	cases := []struct {
		name     string
		header   string
		opts     []ServerOption
		max, min time.Duration // bounds of the time left; max 0: no deadline
	}{
		{"header alone", "200m", nil, 200 * time.Millisecond, 100 * time.Millisecond},
		{"shortened by the server's timeout", "10S", []ServerOption{Timeout(300 * time.Millisecond)}, 300 * time.Millisecond, 200 * time.Millisecond},
		{"never lengthened by it", "150m", []ServerOption{Timeout(10 * time.Second)}, 150 * time.Millisecond, 50 * time.Millisecond},
		{"server timeout alone", "", []ServerOption{Timeout(300 * time.Millisecond)}, 300 * time.Millisecond, 200 * time.Millisecond},
		{"malformed is ignored", "soon", nil, 0, 0},
		{"too many digits is ignored", "123456789m", nil, 0, 0},
		{"none", "", nil, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			left, ok := remainingAt(t, tc.header, tc.opts...)
			if tc.max == 0 {
				if ok {
					t.Errorf("deadline %v away; want none", left)
				}
				return
			}
			if !ok || left > tc.max || left < tc.min {
				t.Errorf("time left = %v (deadline %v); want in [%v, %v]", left, ok, tc.min, tc.max)
			}
		})
	}
}

func TestServerTimeoutHeaderOutOfTime(t *testing.T) {
	left, ok := remainingAt(t, "0n", Timeout(time.Second))
	if !ok || left > 0 {
		t.Errorf("time left = %v (deadline %v); want a deadline already past", left, ok)
	}
}

// hopTimes records, per hop, when its handler started, its deadline, and
// when it sent its downstream call.
type hopTimes struct {
	mu                  sync.Mutex
	arrived, dl, sentAt map[string]time.Time
}

func (h *hopTimes) record(m map[string]time.Time, name string, at time.Time) {
	h.mu.Lock()
	m[name] = at
	h.mu.Unlock()
}

// TestDeadlineAcrossThreeHops calls A -> B -> C over HTTP with a deadline.
// Each hop has at most the time its caller had left when it sent the call:
// the caller's time minus what elapsed before (each hop works 5ms). The
// transit itself is not subtracted, as with grpc-timeout: neither side can
// know it.
func TestDeadlineAcrossThreeHops(t *testing.T) {
	rec := &hopTimes{arrived: map[string]time.Time{}, dl: map[string]time.Time{}, sentAt: map[string]time.Time{}}
	var next string // the endpoint of the next hop
	hop := func(name string, opts ...ServerOption) string {
		srv, base := startServer(t, opts...)
		var c *Client
		if next != "" {
			var err error
			if c, err = NewClient(context.Background(), WithEndpoint(next)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
		}
		srv.Route("/").GET("/hop", func(ctx Context) error {
			rec.record(rec.arrived, name, time.Now())
			dl, ok := ctx.Deadline()
			if ok {
				rec.record(rec.dl, name, dl)
			}
			time.Sleep(5 * time.Millisecond) // work, so the time left shrinks
			if c != nil {
				var out string
				rec.record(rec.sentAt, name, time.Now())
				if err := c.Invoke(ctx, "GET", "/hop", nil, &out); err != nil {
					return err
				}
			}
			return ctx.String(200, "ok")
		})
		return base
	}
	next = hop("C")
	next = hop("B", Timeout(time.Minute)) // a longer server timeout never lengthens it
	next = hop("A")
	c, err := NewClient(context.Background(), WithEndpoint(next))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	callerDL, _ := ctx.Deadline()
	var out string
	rec.record(rec.sentAt, "caller", time.Now())
	if err := c.Invoke(ctx, "GET", "/hop", nil, &out); err != nil {
		t.Fatal(err)
	}
	rec.record(rec.dl, "caller", callerDL)
	prev := "caller"
	for i, name := range []string{"A", "B", "C"} {
		dl, ok := rec.dl[name]
		if !ok {
			t.Fatalf("hop %s had no deadline", name)
		}
		left := dl.Sub(rec.arrived[name])
		callerLeft := rec.dl[prev].Sub(rec.sentAt[prev])
		if left > callerLeft {
			t.Errorf("hop %s started with %v left; want at most the %v %s had left when it sent the call", name, left, callerLeft, prev)
		}
		// And overall: at most the caller's 2s minus the 5ms each hop
		// before worked.
		if budget := 2*time.Second - time.Duration(i)*5*time.Millisecond; left > budget {
			t.Errorf("hop %s started with %v left; want at most %v", name, left, budget)
		}
		t.Logf("%s: %v left on arrival (%s had %v when sending)", name, left, prev, callerLeft)
		prev = name
	}
}

func TestClientSendsTimeoutHeader(t *testing.T) {
	var got []string
	srv, base := startServer(t)
	srv.Route("/").GET("/h", func(ctx Context) error {
		got = append(got, ctx.Header().Get(TimeoutHeader))
		return ctx.String(200, "ok")
	})
	c, err := NewClient(context.Background(), WithEndpoint(base))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out string
	if err := c.Invoke(context.Background(), "GET", "/h", nil, &out); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Invoke(ctx, "GET", "/h", nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "" || got[1] == "" {
		t.Fatalf("%s seen = %q; want none without a deadline, then one", TimeoutHeader, got)
	}
}
