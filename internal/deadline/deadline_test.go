package deadline_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/internal/deadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDeadlineWithoutDone(t *testing.T) {
	dl := time.Now().Add(30 * time.Millisecond)
	c := deadline.New(context.Background(), dl)
	defer c.Release()
	if got, ok := c.Deadline(); !ok || !got.Equal(dl) {
		t.Errorf("Deadline = %v, %v; want %v, true", got, ok, dl)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err before the deadline = %v", err)
	}
	time.Sleep(40 * time.Millisecond)
	if err := c.Err(); err != context.DeadlineExceeded {
		t.Errorf("Err after the deadline = %v; want DeadlineExceeded", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done asked after the deadline is not closed")
	}
}

func TestDoneClosesAtTheDeadline(t *testing.T) {
	start := time.Now()
	c := deadline.New(context.Background(), start.Add(30*time.Millisecond))
	defer c.Release()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done never closed")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("Done closed after %v; want 30ms", d)
	}
	if c.Err() != context.DeadlineExceeded {
		t.Errorf("Err = %v; want DeadlineExceeded", c.Err())
	}
}

func TestParentCancel(t *testing.T) {
	t.Run("before Done", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := deadline.New(parent, time.Now().Add(time.Hour))
		defer c.Release()
		cancel()
		if c.Err() != context.Canceled {
			t.Errorf("Err = %v; want Canceled", c.Err())
		}
	})
	t.Run("after Done", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := deadline.New(parent, time.Now().Add(time.Hour))
		defer c.Release()
		done := c.Done()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the parent's cancel did not reach Done")
		}
		if c.Err() != context.Canceled {
			t.Errorf("Err = %v; want Canceled", c.Err())
		}
	})
}

func TestValue(t *testing.T) {
	type key struct{}
	c := deadline.New(context.WithValue(context.Background(), key{}, "v"), time.Now().Add(time.Hour))
	defer c.Release()
	if c.Value(key{}) != "v" {
		t.Error("Value does not reach the parent")
	}
	if c.String() == "" {
		t.Error("empty String")
	}
}

func TestDerivedContexts(t *testing.T) {
	t.Run("canceled at the deadline", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(20*time.Millisecond))
		defer c.Release()
		child, cancel := context.WithCancel(c)
		defer cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the child was not canceled at the parent's deadline")
		}
	})
	t.Run("child canceled first", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(time.Hour))
		defer c.Release()
		child, cancel := context.WithCancel(c)
		cancel()
		<-child.Done()
		if c.Err() != nil {
			t.Errorf("the parent's Err = %v after the child's cancel", c.Err())
		}
	})
	t.Run("AfterFunc on a done context runs", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(-time.Second))
		ran := make(chan struct{})
		stop := context.AfterFunc(c, func() { close(ran) })
		<-ran
		if stop() {
			t.Error("stop reported stopping a function that ran")
		}
	})
	t.Run("AfterFunc stopped", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(20*time.Millisecond))
		ran := make(chan struct{})
		stop := c.AfterFunc(func() { close(ran) })
		if !stop() {
			t.Fatal("stop did not stop")
		}
		if stop() {
			t.Error("a second stop reported stopping")
		}
		<-c.Done()
		select {
		case <-ran:
			t.Error("a stopped AfterFunc ran")
		case <-time.After(20 * time.Millisecond):
		}
	})
}

func TestRelease(t *testing.T) {
	t.Run("after Done", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(time.Hour))
		done := c.Done()
		c.Release()
		<-done
		if c.Err() != context.Canceled {
			t.Errorf("Err = %v; want Canceled, as after a WithTimeout's cancel", c.Err())
		}
	})
	t.Run("before Done", func(t *testing.T) {
		c := deadline.New(context.Background(), time.Now().Add(time.Hour))
		c.Release()
		if c.Err() != context.Canceled {
			t.Errorf("Err = %v; want Canceled", c.Err())
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Error("Done of a released context is not closed")
		}
	})
}

func TestFormatParse(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0n"},
		{-time.Second, "0n"},
		{time.Nanosecond, "1n"},
		{250 * time.Millisecond, "250000u"},
		{99999999 * time.Nanosecond, "99999999n"},
		{100 * time.Second, "100000m"},
		{time.Hour, "3600000m"},
		{1000 * time.Hour, "3600000S"},
		{2000 * time.Hour, "7200000S"},
		{100000 * time.Hour, "6000000M"},
		{1<<63 - 1, "2562047H"},
		{250*time.Millisecond + 999, "250000u"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			got := deadline.Format(tc.d)
			if got != tc.want {
				t.Fatalf("Format(%v) = %q; want %q", tc.d, got, tc.want)
			}
			back, ok := deadline.Parse(got)
			unit, _ := deadline.Parse("1" + got[len(got)-1:])
			if !ok || back > max(tc.d, 0) || max(tc.d, 0)-back >= unit {
				t.Errorf("Parse(%q) = %v, %v; want %v less than one unit", got, back, ok, tc.d)
			}
		})
	}
	for _, bad := range []string{"", "1", "m", "123456789m", "12x", "-1m", "1.5S", "abcm"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			if d, ok := deadline.Parse(bad); ok {
				t.Errorf("Parse(%q) = %v, true; want false", bad, d)
			}
		})
	}
	if d, ok := deadline.Parse("99999999H"); !ok || d != 1<<63-1 {
		t.Errorf("Parse(99999999H) = %v, %v; want the largest Duration", d, ok)
	}
}

func BenchmarkNewErrDeadline(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := deadline.New(ctx, time.Now().Add(time.Second))
		_ = c.Err()
		_, _ = c.Deadline()
		c.Release()
	}
}
