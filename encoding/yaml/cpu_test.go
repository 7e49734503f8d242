package yaml_test

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time this process has used so far.
// Timed tests compare CPU time rather than wall time, because CI machines
// are shared: other jobs stretch wall time but not our CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
