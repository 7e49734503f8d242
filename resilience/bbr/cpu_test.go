package bbr

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, root, path, body string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeWall is a settable wall clock in nanoseconds.
type fakeWall struct{ t float64 }

func (w *fakeWall) now() float64 { return w.t }

func TestCgroupV2Quota(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/cgroup", "0::/kubepods/pod1\n")
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
	write(t, root, "sys/fs/cgroup/kubepods/pod1/cpu.max", "50000 100000\n") // half a core
	write(t, root, "sys/fs/cgroup/kubepods/pod1/cpu.stat", "usage_usec 1000000\nuser_usec 1\n")
	w := &fakeWall{t: 1e9}
	c, err := detect(root, w.now)
	if err != nil {
		t.Fatal(err)
	}
	b0, t0, _ := c()
	// One second later the cgroup used 0.25 s of CPU: half its half core.
	write(t, root, "sys/fs/cgroup/kubepods/pod1/cpu.stat", "usage_usec 1250000\n")
	w.t += 1e9
	b1, t1, err := c()
	if err != nil {
		t.Fatal(err)
	}
	if u := (b1 - b0) / (t1 - t0); u < 0.49 || u > 0.51 {
		t.Fatalf("usage = %v, want 0.5", u)
	}
}

func TestCgroupV2NoQuota(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/cgroup", "0::/\n")
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "cpu\n")
	write(t, root, "sys/fs/cgroup/cpu.max", "max 100000\n")
	write(t, root, "sys/fs/cgroup/cpu.stat", "usage_usec 0\n")
	w := &fakeWall{}
	c, err := detect(root, w.now)
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, "sys/fs/cgroup/cpu.stat", "usage_usec 1000000\n")
	w.t = 1e9
	b, total, _ := c()
	if u := b / total; u <= 0 || u > 1 {
		t.Fatalf("usage = %v", u)
	}
}

func TestCgroupV1Quota(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/cgroup", "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n")
	write(t, root, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage", "0\n")
	write(t, root, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n")
	write(t, root, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
	w := &fakeWall{}
	c, err := detect(root, w.now)
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage", "1000000000\n") // 1 s of CPU
	w.t = 1e9
	b, total, err := c()
	if err != nil {
		t.Fatal(err)
	}
	want := 0.5 // 1 s used of 2 cores × 1 s
	if hostCores := float64(numCPU()); hostCores < 2 {
		want = 1 / hostCores
	}
	if u := b / total; u < want-0.01 || u > want+0.01 {
		t.Fatalf("usage = %v, want %v", u, want)
	}
}

func TestHostFallback(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/cgroup", "0::/\n") // no cgroup files at all
	write(t, root, "proc/stat", "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 1 1 1 1\n")
	c, err := detect(root, (&fakeWall{}).now)
	if err != nil {
		t.Fatal(err)
	}
	busy, total, err := c()
	if err != nil || busy != 200 || total != 1000 {
		t.Fatalf("host counter = %v, %v, %v; want 200, 1000", busy, total, err)
	}
}

func TestNoSource(t *testing.T) {
	if _, err := detect(t.TempDir(), (&fakeWall{}).now); err == nil {
		t.Fatal("no error with no CPU accounting at all")
	}
	root := t.TempDir()
	write(t, root, "proc/stat", "cpu  x\n")
	if _, err := detect(root, (&fakeWall{}).now); err == nil {
		t.Fatal("no error on a malformed /proc/stat")
	}
}

func TestMeterSmoothsAndKeepsLastOnError(t *testing.T) {
	busy, total := 0.0, 0.0
	var fail bool
	m, err := newMeter(func() (float64, float64, error) {
		if fail {
			return 0, 0, os.ErrNotExist
		}
		return busy, total, nil
	}, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	busy, total = 100, 100 // fully busy
	m.sample()
	if u := m.Usage(); u < 0.49 || u > 0.51 {
		t.Fatalf("usage after one busy sample = %v, want 0.5 (smoothed)", u)
	}
	waitIdle(m)
	fail = true
	m.sample()
	if u := m.Usage(); u < 0.49 {
		t.Fatalf("a read error reset usage to %v", u)
	}
	waitIdle(m)
}

func waitIdle(m *Meter) {
	for {
		m.mu.Lock()
		r := m.running
		m.mu.Unlock()
		if !r {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewCPUOnThisMachine(t *testing.T) {
	m, err := NewCPU()
	if err != nil {
		t.Skipf("no CPU accounting readable here: %v", err)
	}
	m.interval = 0
	m.Usage()
	waitIdle(m)
	if u := m.Usage(); u < 0 || u > 1 {
		t.Fatalf("usage = %v", u)
	}
	waitIdle(m)
}

func TestProcessCounter(t *testing.T) {
	root := t.TempDir()
	stat := filepath.Join(root, "stat")
	// pid (comm with) spaces) state ppid ... utime=150 stime=50 at fields 14, 15.
	write(t, root, "stat", "42 (a b) c) S 1 1 1 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0\n")
	w := &fakeWall{t: 4e9}
	busy, total, err := processCounter(stat, 2, w.now, 100)()
	if err != nil {
		t.Fatal(err)
	}
	if busy != 2e9 || total != 8e9 {
		t.Fatalf("busy, total = %v, %v; want 2e9 (200 ticks), 8e9 (4 s × 2 cores)", busy, total)
	}
	write(t, root, "stat", "42 (x) S 1\n")
	if _, _, err := processCounter(stat, 1, w.now, 100)(); err == nil {
		t.Fatal("no error on a short stat line")
	}
	if _, _, err := processCounter(filepath.Join(root, "none"), 1, w.now, 100)(); err == nil {
		t.Fatal("no error on a missing file")
	}
	if m, err := NewProcessCPU(); err != nil || m.Usage() < 0 {
		t.Fatalf("NewProcessCPU: %v", err)
	}
	time.Sleep(10 * time.Millisecond) // let a refresh that Usage may have started end
}

// TestProcessDemandCountsRunQueueWait is the overload harness's finding: a
// server sharing its core with other busy processes gets only part of the
// core, so its own CPU time (utime+stime) reads as, say, 30%, under the
// threshold, while requests queue. Time spent runnable and waiting for the
// CPU is demand too: counting it, the starved server reads as busy.
func TestProcessDemandCountsRunQueueWait(t *testing.T) {
	root := t.TempDir()
	// Two threads: 0.3 s running and 0.6 s waiting, and 0.1 s running.
	write(t, root, "task/1/schedstat", "300000000 600000000 10\n")
	write(t, root, "task/7/schedstat", "100000000 0 3\n")
	w := &fakeWall{t: 1e9}
	c := schedCounter(filepath.Join(root, "task"), 1, w.now)
	busy, total, err := c()
	if err != nil {
		t.Fatal(err)
	}
	if busy != 1e9 || total != 1e9 {
		t.Fatalf("busy, total = %v, %v; want 1e9 (0.4 s run + 0.6 s wait), 1e9 (1 s × 1 core)", busy, total)
	}
	write(t, root, "task/7/schedstat", "garbage\n")
	if _, _, err := c(); err == nil {
		t.Fatal("no error on a malformed schedstat")
	}
	if _, _, err := schedCounter(filepath.Join(root, "none"), 1, w.now)(); err == nil {
		t.Fatal("no error on a missing task directory")
	}
}

func TestProcessCounterChoice(t *testing.T) {
	root := t.TempDir()
	write(t, root, "stat", "42 (srv) S 1 1 1 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0\n")
	w := &fakeWall{t: 1e9}
	t.Run("schedstat when readable", func(t *testing.T) {
		write(t, root, "task/1/schedstat", "100 900 1\n")
		busy, _, err := processDemand(root, 1, w.now)()
		if err != nil || busy != 1000 {
			t.Fatalf("busy = %v, %v; want 1000 ns from schedstat", busy, err)
		}
	})
	t.Run("utime and stime otherwise", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(root, "task")); err != nil {
			t.Fatal(err)
		}
		busy, _, err := processDemand(root, 1, w.now)()
		if err != nil || busy != 2e9 {
			t.Fatalf("busy = %v, %v; want 2e9 from stat", busy, err)
		}
	})
}
