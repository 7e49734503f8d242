package config_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zelos-go/zelos/config"
)

// cpuTime is the user and system CPU time this process has used so far.
// The timed test compares CPU time rather than wall time, because CI
// machines are shared: other jobs stretch wall time but not our CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLargeFilesLoadInLinearTime loads 100k keys (50k under -race) in one
// mapping and as many in small nested ones, in YAML and JSON, and scans them into a map and a
// yaml-tagged struct. yaml.v3 alone compares every key of a mapping with
// every other: 100k keys took over 30 s, and a 1M-key file never finished.
// The bound is loose for -race on a loaded 2-core CI (about 0.5 s without
// the race detector).
func TestLargeFilesLoadInLinearTime(t *testing.T) {
	keys := 100_000
	if raceEnabled {
		keys /= 2
	}
	const cpuBound = 20 * time.Second
	gen := func(format string) string {
		var b strings.Builder
		for i := range keys {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	for _, tc := range []struct{ name, format, text string }{
		{"flat yaml", "yaml", gen("k%d: 1\n")},
		{"nested yaml", "yaml", "m:\n" + gen("  k%d: {a: 1}\n")},
		{"flat json", "json", "{" + strings.TrimSuffix(gen(`"k%d": 1,`), ",") + "}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, startCPU := time.Now(), cpuTime()
			done := make(chan error, 1)
			go func() {
				c := config.New(config.WithSource(static{{Key: "big." + tc.format, Value: []byte(tc.text), Format: tc.format}}))
				defer c.Close()
				if err := c.Load(); err != nil {
					done <- err
					return
				}
				var m map[string]any
				if err := c.Scan(&m); err != nil || len(m) == 0 {
					done <- fmt.Errorf("Scan into map: %d keys, %v", len(m), err)
					return
				}
				var s struct {
					K7 int `yaml:"k7"`
				}
				done <- c.Scan(&s)
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("still loading after 2 minutes")
			}
			wall, cpu := time.Since(start), cpuTime()-startCPU
			t.Logf("%d bytes: loaded and scanned twice in %v (%v CPU)", len(tc.text), wall, cpu)
			if cpu > cpuBound {
				t.Errorf("took %v of CPU time, want at most %v", cpu, cpuBound)
			}
		})
	}
}
