package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// repoRoot is the repository root, relative to this module.
const repoRoot = "../../.."

// runIfPresent runs a tool that may not be installed: the test is skipped,
// saying so, when it is not on PATH, and fails when the tool does.
func runIfPresent(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not on PATH: skipped (apt-get install %s to run it)", tool, tool)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", tool, args, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// requireWritten fails the test when a file or directory the deployment
// builds from (a service's cmd or configs) does not exist.
func requireWritten(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the deployment builds from %s: %v", path, err)
	}
}
