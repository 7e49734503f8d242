//go:build unix

package http

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used. Timed tests compare
// it rather than the wall clock, which a loaded machine stretches.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
