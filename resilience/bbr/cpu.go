package bbr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CPU reports the share of the CPU available to this process that is in
// use, from 0 to 1. The limiter only sheds load while it is above the
// threshold, so that a latency spike on an idle machine sheds nothing.
type CPU interface {
	Usage() float64
}

// CPUFunc adapts a function to CPU, for tests and for users with their own
// source.
type CPUFunc func() float64

// Usage implements CPU.
func (f CPUFunc) Usage() float64 { return f() }

// counter reads cumulative CPU counters: busy and total in one unit, so
// that usage between two reads is Δbusy / Δtotal.
type counter func() (busy, total float64, err error)

// sampleInterval is how often a Meter reads its counter. With the moving
// average halving the old value at each sample, a CPU that turns busy reads
// above 80% within three samples, 750ms: slow enough that one busy tick does
// not flip the limiter on, fast enough to act before queues build up.
const sampleInterval = 250 * time.Millisecond

// Meter samples a counter at most once per interval and smooths the usage
// with an exponential moving average, so one busy tick does not flip the
// limiter on. Usage is cheap: it returns the last value, and a stale value
// is refreshed in the background by the first call to see it, so no
// request waits on a file read and no long-lived goroutine is left behind.
type Meter struct {
	read     counter
	interval time.Duration

	mu        sync.Mutex
	busy      float64
	total     float64
	usage     float64
	sampledAt time.Time
	running   bool
}

// NewCPU returns the CPU meter for this process: container-aware, it reads
// the cgroup v2 or v1 CPU accounting and quota of the process's own cgroup,
// and falls back to the host's /proc/stat when neither is readable.
func NewCPU() (*Meter, error) {
	c, err := detect("/", wallNanos)
	if err != nil {
		return nil, err
	}
	return newMeter(c, sampleInterval)
}

func newMeter(c counter, interval time.Duration) (*Meter, error) {
	busy, total, err := c()
	if err != nil {
		return nil, err
	}
	return &Meter{read: c, interval: interval, busy: busy, total: total, sampledAt: time.Now()}, nil
}

// Usage implements CPU.
func (m *Meter) Usage() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running && time.Since(m.sampledAt) >= m.interval {
		m.running = true
		go m.sample()
	}
	return m.usage
}

// sample reads the counter once and folds the new usage into the average.
func (m *Meter) sample() {
	busy, total, err := m.read()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = false
	m.sampledAt = time.Now()
	if err != nil || total <= m.total {
		return // keep the last usage: a read error must not unlock the limiter
	}
	u := min(max((busy-m.busy)/(total-m.total), 0), 1)
	m.busy, m.total = busy, total
	m.usage = (m.usage + u) / 2
}

// detect picks the counter for the process, with root as the file system
// root and now as the wall clock in nanoseconds (tests give fakes of both).
func detect(root string, now func() float64) (counter, error) {
	cg, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err == nil {
		if c, err := cgroupCounter(root, cg, now); err == nil {
			return c, nil
		}
	}
	c := hostCounter(filepath.Join(root, "proc/stat"))
	if _, _, err := c(); err != nil {
		return nil, fmt.Errorf("resilience/bbr: no cgroup CPU accounting and %w", err)
	}
	return c, nil
}

// cgroupCounter returns the counter of the cgroup named in the contents of
// /proc/self/cgroup: v2 if its unified hierarchy has cpu.stat, else v1's
// cpuacct.
func cgroupCounter(root string, procCgroup []byte, now func() float64) (counter, error) {
	var v2, v1cpu, v1acct string
	haveV2, haveV1cpu := false, false
	for line := range strings.SplitSeq(strings.TrimSpace(string(procCgroup)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, haveV2 = parts[2], true
		}
		for ctl := range strings.SplitSeq(parts[1], ",") {
			switch ctl {
			case "cpu":
				v1cpu, haveV1cpu = parts[2], true
			case "cpuacct":
				v1acct = parts[2]
			}
		}
	}
	base := filepath.Join(root, "sys/fs/cgroup")
	if haveV2 {
		dir := filepath.Join(base, v2)
		if _, err := os.Stat(filepath.Join(dir, "cpu.stat")); err == nil {
			if _, err := os.Stat(filepath.Join(base, "cgroup.controllers")); err == nil {
				return v2Counter(dir, numCPU(), now), nil
			}
		}
	}
	if v1acct != "" {
		acct := firstExisting(filepath.Join(base, "cpuacct", v1acct), filepath.Join(base, "cpu,cpuacct", v1acct))
		cpu := ""
		if haveV1cpu {
			cpu = firstExisting(filepath.Join(base, "cpu", v1cpu), filepath.Join(base, "cpu,cpuacct", v1cpu))
		}
		if acct != "" {
			return v1Counter(acct, cpu, numCPU(), now), nil
		}
	}
	return nil, errors.New("resilience/bbr: no cgroup CPU accounting found")
}

func firstExisting(dirs ...string) string {
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return ""
}

// wallNanos is the time source of the cgroup counters' totals.
func wallNanos() float64 { return float64(time.Now().UnixNano()) }

// v2Counter reads usage_usec from cpu.stat and the quota from cpu.max
// ("max 100000" or "50000 100000"). Busy and total are in nanoseconds of
// CPU: total is wall time × the cores the quota allows.
func v2Counter(dir string, hostCPUs int, now func() float64) counter {
	return func() (float64, float64, error) {
		stat, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %w", err)
		}
		usec, err := field(stat, "usage_usec")
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %s: %w", filepath.Join(dir, "cpu.stat"), err)
		}
		cores := float64(hostCPUs)
		if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 && f[0] != "max" {
				q, err1 := strconv.ParseFloat(f[0], 64)
				p, err2 := strconv.ParseFloat(f[1], 64)
				if err1 == nil && err2 == nil && q > 0 && p > 0 {
					cores = min(cores, q/p)
				}
			}
		}
		return usec * 1000, now() * cores, nil
	}
}

// v1Counter reads cpuacct.usage (nanoseconds) and the CFS quota of the cpu
// controller (cpu.cfs_quota_us of -1 means none).
func v1Counter(acctDir, cpuDir string, hostCPUs int, now func() float64) counter {
	return func() (float64, float64, error) {
		b, err := os.ReadFile(filepath.Join(acctDir, "cpuacct.usage"))
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %w", err)
		}
		used, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %s: %w", filepath.Join(acctDir, "cpuacct.usage"), err)
		}
		cores := float64(hostCPUs)
		if cpuDir != "" {
			q, err1 := readFloat(filepath.Join(cpuDir, "cpu.cfs_quota_us"))
			p, err2 := readFloat(filepath.Join(cpuDir, "cpu.cfs_period_us"))
			if err1 == nil && err2 == nil && q > 0 && p > 0 {
				cores = min(cores, q/p)
			}
		}
		return used, now() * cores, nil
	}
}

// hostCounter reads the aggregate "cpu" line of /proc/stat, in jiffies:
// busy is everything but idle and iowait.
func hostCounter(path string) counter {
	return func() (float64, float64, error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %w", err)
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 5 || fields[0] != "cpu" {
				continue
			}
			var total, idle float64
			for i, v := range fields[1:] {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("resilience/bbr: %s: bad field %q", path, v)
				}
				total += n
				if i == 3 || i == 4 { // idle, iowait
					idle += n
				}
			}
			return total - idle, total, nil
		}
		return 0, 0, fmt.Errorf("resilience/bbr: %s: no cpu line", path)
	}
}

func readFloat(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}

// field returns the value of "name value" in a flat-keyed cgroup file.
func field(b []byte, name string) (float64, error) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if k, v, ok := bytes.Cut(line, []byte(" ")); ok && string(k) == name {
			return strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
		}
	}
	return 0, fmt.Errorf("no %s", name)
}

// numCPU is the host's core count, the capacity when no quota is set.
func numCPU() int { return runtime.NumCPU() }

// NewProcessCPU returns a meter of this process's own CPU demand over the
// cores GOMAXPROCS lets it use: the time its threads ran plus the time they
// waited, runnable, for a CPU (/proc/self/task/*/schedstat), or, where
// schedstat is not readable, its CPU time alone (utime and stime of
// /proc/self/stat). Use it where the process shares its cgroup with other
// busy processes, such as a benchmark whose load generator runs beside the
// server: the cgroup meter would count the generator's CPU as the server's.
//
// The wait counts because a process that shares its cores with others gets
// only part of them: its CPU time alone read 30% on a saturated server
// whose core other processes also wanted (bench/overload), so it never shed.
func NewProcessCPU() (*Meter, error) {
	return newMeter(processDemand("/proc/self", runtime.GOMAXPROCS(0), wallNanos), sampleInterval)
}

// processDemand returns the schedstat counter of the process directory dir
// if it is readable, else the utime+stime counter.
func processDemand(dir string, cores int, now func() float64) counter {
	c := schedCounter(filepath.Join(dir, "task"), cores, now)
	if _, _, err := c(); err == nil {
		return c
	}
	return processCounter(filepath.Join(dir, "stat"), cores, now, clockTicks)
}

// schedCounter sums the first two fields of every thread's schedstat, the
// nanoseconds it ran and waited on a run queue. A thread that exits takes
// its share with it; the meter clips the negative step that gives to 0.
func schedCounter(taskDir string, cores int, now func() float64) counter {
	return func() (float64, float64, error) {
		tasks, err := os.ReadDir(taskDir)
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %w", err)
		}
		var busy float64
		for _, task := range tasks {
			path := filepath.Join(taskDir, task.Name(), "schedstat")
			b, err := os.ReadFile(path)
			if err != nil {
				continue // the thread exited since ReadDir
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				return 0, 0, fmt.Errorf("resilience/bbr: %s: %d fields", path, len(f))
			}
			run, err1 := strconv.ParseFloat(f[0], 64)
			wait, err2 := strconv.ParseFloat(f[1], 64)
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("resilience/bbr: %s: bad run or wait time", path)
			}
			busy += run + wait
		}
		return busy, now() * float64(cores), nil
	}
}

// clockTicks is USER_HZ, the unit of /proc/self/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// processCounter reads fields 14 and 15 (utime, stime, in clock ticks) of
// /proc/self/stat. The command name in field 2 may hold spaces and
// parentheses, so fields are counted from its closing parenthesis.
func processCounter(path string, cores int, now func() float64, hz float64) counter {
	return func() (float64, float64, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %w", err)
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return 0, 0, fmt.Errorf("resilience/bbr: %s: no command name", path)
		}
		f := strings.Fields(string(b[i+1:]))
		// After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
		if len(f) < 13 {
			return 0, 0, fmt.Errorf("resilience/bbr: %s: %d fields", path, len(f))
		}
		utime, err1 := strconv.ParseFloat(f[11], 64)
		stime, err2 := strconv.ParseFloat(f[12], 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("resilience/bbr: %s: bad utime or stime", path)
		}
		return (utime + stime) / hz * 1e9, now() * float64(cores), nil
	}
}
