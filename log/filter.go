package log

import (
	"context"
	"slices"
)

// Mask replaces the values hidden by FilterKey and FilterValue.
const Mask = "***"

// Filter is a Logger that drops records below a level or chosen by a
// function, and masks sensitive values, before passing records on.
//
// A Filter sees the keyvals given to its Log method: those of the call and
// of any With wrapped around the Filter. Fields bound by a With inside the
// Filter (NewFilter(With(l, ...))) are added after filtering. To mask bound
// fields too, put the Filter innermost: With(NewFilter(l, ...), ...).
//
// The caller's keyvals are never modified: masking works on a copy.
// A Filter is safe for concurrent use if its Logger is.
type Filter struct {
	logger Logger
	level  Level
	keys   []string
	values []string
	fn     func(level Level, keyvals ...any) bool
	wantPC bool
}

// FilterOption configures a Filter.
type FilterOption func(*Filter)

// FilterLevel drops records below level. The default is LevelDebug, which
// lets every level through.
func FilterLevel(level Level) FilterOption {
	return func(f *Filter) { f.level = level }
}

// FilterKey masks the values of the given keys with Mask ("***").
func FilterKey(keys ...string) FilterOption {
	return func(f *Filter) { f.keys = append(f.keys, keys...) }
}

// FilterValue masks values equal to one of the given strings with Mask.
func FilterValue(values ...string) FilterOption {
	return func(f *Filter) { f.values = append(f.values, values...) }
}

// FilterFunc drops the records for which fn returns true. fn gets the
// record's unmasked keyvals and must not modify or retain them.
func FilterFunc(fn func(level Level, keyvals ...any) bool) FilterOption {
	return func(f *Filter) { f.fn = fn }
}

// NewFilter returns a Filter that logs to l.
func NewFilter(l Logger, opts ...FilterOption) *Filter {
	f := &Filter{logger: l, level: LevelDebug}
	for _, o := range opts {
		o(f)
	}
	f.wantPC = wantsPC(l)
	return f
}

// Log implements Logger.
//
//go:noinline
func (f *Filter) Log(level Level, keyvals ...any) error {
	var pc uintptr
	if f.wantPC && level >= f.level {
		pc = entryPC(1)
	}
	return f.logContext(nil, pc, level, keyvals)
}

func (f *Filter) logContext(ctx context.Context, pc uintptr, level Level, keyvals []any) error {
	if level < f.level {
		return nil
	}
	if f.fn != nil && f.fn(level, keyvals...) {
		return nil
	}
	i := f.firstMasked(keyvals)
	if i < 0 {
		return logTo(ctx, pc, f.logger, level, keyvals)
	}
	kvs := getKVs()
	s := append(*kvs, keyvals...)
	for ; i < len(s); i += 2 {
		if f.masked(s, i) {
			s[i] = Mask
		}
	}
	*kvs = s
	err := logTo(ctx, pc, f.logger, level, s)
	putKVs(kvs)
	return err
}

// firstMasked returns the index of the first value to mask, or -1.
func (f *Filter) firstMasked(keyvals []any) int {
	if len(f.keys) == 0 && len(f.values) == 0 {
		return -1
	}
	for i := 1; i < len(keyvals); i += 2 {
		if f.masked(keyvals, i) {
			return i
		}
	}
	return -1
}

// masked reports whether the value at index i (odd) of keyvals is hidden.
func (f *Filter) masked(keyvals []any, i int) bool {
	if k, ok := keyvals[i-1].(string); ok && slices.Contains(f.keys, k) {
		return true
	}
	if v, ok := keyvals[i].(string); ok && slices.Contains(f.values, v) {
		return true
	}
	return false
}

func (f *Filter) enabled(ctx context.Context, level Level) bool {
	return level >= f.level && enabledFor(ctx, f.logger, level)
}

func (f *Filter) wantsPC() bool { return f.wantPC }
