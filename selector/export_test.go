package selector

// EjectClock sets the outlier ejection clock (nanoseconds), so that tests
// outside the package run ejections on a fake clock.
func EjectClock(now func() int64) Option {
	return func(o *options) { o.eject.now = now }
}
