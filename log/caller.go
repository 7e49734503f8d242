package log

import (
	"context"
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// pkgPrefix is the prefix of the function names of this package, e.g.
// "github.com/zelos-go/zelos/log.(*Helper).Infow". It is computed once and
// never changes. The external test package ("…/log_test.") does not match.
var pkgPrefix = reflect.TypeFor[Helper]().PkgPath() + "."

// internalFrame reports whether fn, a runtime.Frame.Function, belongs to the
// logging machinery that sits between the user's call and a Valuer: this
// package, log/slog (and its internal packages) and the standard log package
// (slog.NewLogLogger routes it to a slog.Handler).
func internalFrame(fn string) bool {
	return strings.HasPrefix(fn, pkgPrefix) ||
		strings.HasPrefix(fn, "log/slog") ||
		strings.HasPrefix(fn, "log.")
}

// callerPC returns the program counter of the skip'th caller outside the
// logging machinery (skip 0 is the first one), in the form runtime.Callers
// reports it (a return address), or 0 if there is none. It walks up the
// stack of the current goroutine, ignoring frames of this package and of
// log/slog however they are nested. known is the number of frames, starting
// with callerPC's caller, that are known to be internal; they are skipped
// without being looked at.
//
// runtime.Callers reports one PC per logical frame, inlined calls included,
// each one byte past the call; FuncForPC(pc-1) therefore names the function
// of that logical frame. This only resolves function names, which is much
// cheaper than runtime.CallersFrames (that also computes the file and line
// of every frame, and allocates); the file and line of the result are only
// computed when it is formatted. FuncForPC allocates for inlined frames
// only; the entry points of this package are marked noinline so that the
// walk usually allocates nothing.
//
// This is the slow path of Caller, used when the chain's entry point did not
// provide the pc (see chainLogger).
func callerPC(known, skip int) uintptr {
	// runtime.Callers unwinds only as many frames as it can store, so the
	// first call asks for few: the user's frame is usually within 6 frames
	// of the Valuer. Deeper stacks are read in larger chunks.
	var pcs [32]uintptr
	start := 2 + known // runtime.Callers, callerPC and the known frames
	chunk := 6
	for {
		n := runtime.Callers(start, pcs[:chunk])
		for _, pc := range pcs[:n] {
			fn := runtime.FuncForPC(pc - 1)
			if fn != nil && internalFrame(fn.Name()) {
				continue
			}
			if skip == 0 {
				return pc
			}
			skip--
		}
		if n < chunk {
			return 0
		}
		start += n
		chunk = len(pcs)
	}
}

// Caller returns a Valuer that reports the source file and line of the code
// that logged the record, as "dir/file.go:line". It does not count a fixed
// number of frames: it reports the frame that called into this package
// (a Helper method, a Logger's Log, or slog), however Helper, Filter and With
// are nested. extraSkip skips that many more frames, for your own logging
// wrappers: a function that calls Helper.Info needs Caller(1) to report its
// caller. Likewise, a Valuer of your own that calls a Caller Valuer adds a
// frame.
//
// Caller(0) (DefaultCaller) is cheap: the chain's entry point records the
// call site as slog does, with no stack walk; with extraSkip > 0, or when a
// Logger of another package sits between the entry point and With, the
// Valuer walks the stack past the frames of this package and log/slog.
//
// The value implements fmt.Stringer and encoding.TextAppender; the loggers of
// this package format it without allocating. If no frame is found it formats
// as "unknown".
func Caller(extraSkip int) Valuer {
	if extraSkip <= 0 {
		return callerValuer
	}
	return func(context.Context) any {
		return source(callerPC(1, extraSkip)) // 1: this function
	}
}

// callerValuer is Caller(0). With recognizes it and, when the chain's entry
// point provides the call site, uses that instead of calling it.
func callerValuer(context.Context) any {
	return source(callerPC(1, 0)) // 1: this function
}

// callerValuerCode identifies callerValuer among Valuers (see isCaller). It
// is set once and never changes.
var callerValuerCode = reflect.ValueOf(callerValuer).Pointer()

// isCaller reports whether v is Caller(0).
func isCaller(v Valuer) bool {
	return v != nil && reflect.ValueOf(v).Pointer() == callerValuerCode
}

// source is the value of a Caller Valuer: a program counter as
// runtime.Callers reports it (one past the call), or 0 for unknown. It is
// resolved to a file and line only when formatted; a pc never changes, so a
// source may be retained.
type source uintptr

// fileLine returns the file and line of s.
func (s source) fileLine() (string, int, bool) {
	if s == 0 {
		return "", 0, false
	}
	fn := runtime.FuncForPC(uintptr(s) - 1)
	if fn == nil {
		return "", 0, false
	}
	file, line := fn.FileLine(uintptr(s) - 1)
	return file, line, true
}

// AppendText implements encoding.TextAppender: it appends "dir/file.go:line".
func (s source) AppendText(b []byte) ([]byte, error) {
	file, line, ok := s.fileLine()
	if !ok {
		return append(b, "unknown"...), nil
	}
	b = append(b, trimPath(file)...)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(line), 10), nil
}

// MarshalText implements encoding.TextMarshaler.
func (s source) MarshalText() ([]byte, error) { return s.AppendText(nil) }

// String implements fmt.Stringer.
func (s source) String() string {
	b, _ := s.AppendText(make([]byte, 0, 64))
	return string(b)
}

// trimPath keeps the last directory and the file name of path.
func trimPath(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return path
	}
	if j := strings.LastIndexByte(path[:i], '/'); j >= 0 {
		return path[j+1:]
	}
	return path
}
