package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

// TestPlugin runs the plugin as protoc does, with and without
// default_routes, and compares its output with the CLI's golden files.
func TestPlugin(t *testing.T) {
	resp := gentest.RunMain(t, main, gentest.Request(t, []string{"api", "bookstore"}))
	if n := gentest.Golden(t, resp, "default", "_http.pb.go"); n != 3 {
		t.Errorf("compared %d files, want 3", n)
	}
	resp = gentest.RunMain(t, main, gentest.Request(t, []string{"bookstore"}, "default_routes=true"))
	if n := gentest.Golden(t, resp, "default_routes", "_http.pb.go"); n != 1 {
		t.Errorf("default_routes: compared %d files, want 1", n)
	}
}

// TestParams runs the plugin in a child process, since protogen exits on a
// bad parameter.
func TestParams(t *testing.T) {
	for _, c := range []struct{ param, want string }{
		{"default_routes=maybe", `default_routes="maybe": want true or false`},
		{"colour=blue", `protoc-gen-go-http: unknown parameter "colour"`},
	} {
		t.Run(c.param, func(t *testing.T) {
			in, err := proto.Marshal(gentest.Request(t, []string{"bookstore"}, c.param))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
			cmd.Env = append(os.Environ(), "ZELOS_TEST_PLUGIN_MAIN=1")
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("err %v, output %q; want a failure with %q", err, out, c.want)
			}
		})
	}
}

// TestMainProcess is the child process of TestParams.
func TestMainProcess(t *testing.T) {
	if os.Getenv("ZELOS_TEST_PLUGIN_MAIN") != "1" {
		t.Skip("the child process of TestParams")
	}
	os.Args = os.Args[:1] // protogen refuses arguments other than --version
	main()
	os.Exit(0)
}

func TestVersion(t *testing.T) {
	out := gentest.RunMainRaw(t, main, nil, "protoc-gen-go-http", "--version")
	if got := string(out); got != "protoc-gen-go-http "+version.Version+"\n" {
		t.Errorf("--version: %q", got)
	}
}
