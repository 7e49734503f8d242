package log_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/log"
)

// TestHelperFatal runs the Fatal methods in a child process: they must log
// and then exit with status 1.
func TestHelperFatal(t *testing.T) {
	if mode := os.Getenv("ZELOS_LOG_FATAL"); mode != "" {
		h := log.NewHelper(log.NewStdLogger(os.Stdout))
		switch mode {
		case "Fatal":
			h.Fatal("bye")
		case "Fatalf":
			h.Fatalf("bye %d", 1)
		case "Fatalw":
			h.Fatalw("msg", "bye", "k", "v")
		}
		os.Exit(0) // not reached
	}
	for mode, want := range map[string]string{
		"Fatal":  "level=FATAL msg=bye\n",
		"Fatalf": "level=FATAL msg=\"bye 1\"\n",
		"Fatalw": "level=FATAL msg=bye k=v\n",
	} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFatal$")
			cmd.Env = append(os.Environ(), "ZELOS_LOG_FATAL="+mode)
			var out bytes.Buffer
			cmd.Stdout = &out
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Fatalf("want exit status 1, got %v", err)
			}
			if !strings.HasPrefix(out.String(), want) {
				t.Errorf("got %q, want %q", out.String(), want)
			}
		})
	}
}
