// Command testsummary reads `go test -json` on stdin and prints what plain
// `go test` would: each package's result line, and the full output of the
// tests that failed. It ends with a count of the tests run, such as
// "tests: 312 passed, 0 failed, 2 skipped", and exits 1 if any failed.
//
//	go test -json ./... | go run ./internal/cmd/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// event is one line of `go test -json` (see go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// summary is the outcome of a stream of events.
type summary struct {
	passed, failed, skipped int
	failedPackages          int
}

func main() {
	s, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.failed > 0 || s.failedPackages > 0 {
		os.Exit(1)
	}
}

// run copies the plain form of the events in r to w and returns the counts.
func run(r io.Reader, w io.Writer) (summary, error) {
	var s summary
	outputs := map[string][]string{} // package + test -> buffered output
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Not an event (a build error, say): pass it through.
			fmt.Fprintln(w, string(line))
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch {
		case e.Action == "build-output", e.Action == "output" && e.Test == "":
			fmt.Fprint(w, e.Output)
		case e.Action == "output":
			outputs[key] = append(outputs[key], e.Output)
		case e.Test != "" && e.Action == "pass":
			s.passed++
			delete(outputs, key)
		case e.Test != "" && e.Action == "skip":
			s.skipped++
			delete(outputs, key)
		case e.Test != "" && e.Action == "fail":
			s.failed++
			for _, o := range outputs[key] {
				fmt.Fprint(w, o)
			}
			delete(outputs, key)
		case e.Test == "" && e.Action == "fail":
			s.failedPackages++
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return s, nil
}
