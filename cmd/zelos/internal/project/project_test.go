package project_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/project"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoserver"
	"github.com/zelos-go/zelos/cmd/zelos/internal/runner"
)

var origWD, _ = os.Getwd()

// frameworkRoot returns the framework checkout, or skips.
func frameworkRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join(origWD, "../../../.."))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"app.go", "config/file", "config/env", "transport/http", "transport/grpc", "middleware/recovery", "middleware/logging"} {
		if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
			t.Skipf("framework checkout at %s lacks %s", root, pkg)
		}
	}
	return root
}

// env is the environment of the flow: no protoc on PATH (only go and
// zelos), modules resolved from the proxy and the local module cache.
type env struct {
	t    *testing.T
	path string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "zelos"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build zelos: %v\n%s", err, out)
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if err := os.Symlink(goBin, filepath.Join(bin, "go")); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, path: bin}
}

func (e *env) run(dir, name string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(e.path, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+e.path, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestNewFlow is the whole user flow from an empty directory with no
// protoc: zelos new demo && cd demo && zelos proto client api &&
// go build ./... && go test ./..., with the replace directive that zelos new
// writes for the checkout it was built from. scripts/newservice.sh runs
// the same flow inside the checkout and serves the result.
func TestNewFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated service")
	}
	root := frameworkRoot(t)
	e := newEnv(t)
	// work is inside a workspace that does not list demo, as the
	// checkout's own is when the service is created inside it: the go.work
	// that zelos new writes must keep it from claiming demo.
	work := t.TempDir()
	for name, content := range map[string]string{
		"go.work":      "go 1.26.8\n\nuse ./other\n",
		"other/go.mod": "module example.com/other\n\ngo 1.26.0\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := e.run(work, "zelos", "new", "demo", "--module", "example.com/demo")
	if !strings.Contains(out, "using the Zelos checkout "+root) {
		t.Errorf("zelos new found no checkout, want %s:\n%s", root, out)
	}
	demo := filepath.Join(work, "demo")
	out = e.run(demo, "zelos", "proto", "client", "api")
	for _, f := range []string{"demo.pb.go", "demo_grpc.pb.go", "demo_http.pb.go", "demo_errors.pb.go", "demo.openapi.yaml"} {
		if !strings.Contains(out, filepath.Join("api", "demo", "v1", f)) {
			t.Errorf("proto client did not write %s:\n%s", f, out)
		}
	}
	e.run(demo, "go", "mod", "tidy")
	e.run(demo, "go", "build", "./...")
	e.run(demo, "go", "vet", "./...")
	e.run(demo, "go", "test", "./...")
}

// TestNewNoMod adds a service inside an existing module.
func TestNewNoMod(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated service")
	}
	root := frameworkRoot(t)
	e := newEnv(t)
	work := t.TempDir()
	gomod := "module example.com/mono\n\ngo 1.26.0\n\nrequire github.com/zelos-go/zelos v0.0.0\n\nreplace github.com/zelos-go/zelos => " + root + "\n"
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(work, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.run(filepath.Join(work, "services"), "zelos", "new", "billing", "--nomod")
	svc := filepath.Join(work, "services", "billing")
	if _, err := os.Stat(filepath.Join(svc, "go.mod")); err == nil {
		t.Fatal("--nomod wrote a go.mod")
	}
	main, err := os.ReadFile(filepath.Join(svc, "cmd", "billing", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(main), `"example.com/mono/services/billing/internal/server"`) {
		t.Errorf("main.go does not import the service under the enclosing module:\n%s", main)
	}
	e.run(svc, "zelos", "proto", "client", "api")
	e.run(work, "go", "mod", "tidy")
	e.run(work, "go", "build", "./...")
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := project.New(dir, project.Options{Name: "Bad Name"}); err == nil {
		t.Error("no error for a bad name")
	}
	if err := os.MkdirAll(filepath.Join(dir, "taken", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := project.New(dir, project.Options{Name: "taken"}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("err = %v, want a not-empty error", err)
	}
	if _, err := project.New(dir, project.Options{Name: "orphan", NoMod: true}); err == nil {
		t.Error("--nomod outside a module: no error")
	}
}

// TestProtoAddAndServer writes a CRUD proto, generates its code, writes
// service stubs, and checks stubs are never overwritten.
func TestProtoAddAndServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p := filepath.Join("api", "user_info", "v1", "user_info.proto")
	if err := project.AddProto(p); err != nil {
		t.Fatal(err)
	}
	if err := project.AddProto(p); err == nil {
		t.Error("AddProto overwrote a file")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"package api.user_info.v1;",
		`option go_package = "example.com/app/api/user_info/v1;v1";`,
		"service UserInfoService {",
		"rpc CreateUserInfo(CreateUserInfoRequest)",
		`delete: "/v1/user_infos/{id}"`,
		"repeated UserInfo user_infos = 1;",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("proto lacks %q", want)
		}
	}
	ws, err := protoc.Client(context.Background(), []string{"api"}, protoc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 4 { // .pb.go, _grpc, _http, .openapi.yaml
		t.Errorf("generated %d files, want 4", len(ws))
	}

	res, err := protoserver.Write(context.Background(), p, protoserver.Options{Dir: filepath.Join("internal", "service")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Skipped {
		t.Fatalf("Write = %+v", res)
	}
	stub, err := os.ReadFile(res[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"package service", "type UserInfoService struct {", "v1.UnimplementedUserInfoServiceServer", "func (s *UserInfoService) ListUserInfo(ctx context.Context, req *v1.ListUserInfoRequest) (*v1.ListUserInfoReply, error) {"} {
		if !strings.Contains(string(stub), want) {
			t.Errorf("stub lacks %q:\n%s", want, stub)
		}
	}
	if err := os.WriteFile(res[0].Path, []byte("package service // edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = protoserver.Write(context.Background(), p, protoserver.Options{Dir: filepath.Join("internal", "service")})
	if err != nil || len(res) != 1 || !res[0].Skipped {
		t.Fatalf("second Write = %+v, %v; want skipped", res, err)
	}
	if b, _ := os.ReadFile(res[0].Path); string(b) != "package service // edited\n" {
		t.Error("the stub was overwritten")
	}
}

// TestProtoServerStreaming checks the stubs of every kind of RPC.
func TestProtoServerStreaming(t *testing.T) {
	res, err := protoserver.Write(context.Background(), filepath.Join("..", "protoc", "testdata", "bookstore", "v1", "bookstore.proto"),
		protoserver.Options{Dir: filepath.Join(t.TempDir(), "service"), ImportPaths: []string{filepath.Join("..", "protoc", "testdata")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(res[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"func (s *BookstoreService) WatchShelf(req *v1.WatchShelfRequest, stream grpc.ServerStreamingServer[v1.ShelfEvent]) error {",
		"func (s *BookstoreService) ImportBooks(stream grpc.ClientStreamingServer[v1.Book, v1.ImportBooksResponse]) error {",
		"func (s *BookstoreService) Chat(stream grpc.BidiStreamingServer[v1.ChatMessage, v1.ChatMessage]) error {",
		"func (s *BookstoreService) Ping(ctx context.Context, req *emptypb.Empty) (*emptypb.Empty, error) {",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("stub lacks %q:\n%s", want, b)
		}
	}
}

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/r\n")
	write("cmd/api/main.go", "package main\n\nfunc main() {}\n")
	c, err := runner.Command(context.Background(), filepath.Join(dir, "cmd"), runner.Options{Args: []string{"-conf", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Args, " "); got != "go run ./cmd/api -conf x" || c.Dir != dir {
		t.Errorf("command %q in %s", got, c.Dir)
	}
	write("cmd/worker/main.go", "// Command worker.\npackage main\n\nfunc main() {}\n")
	write("cmd/lib/lib.go", "package lib\n")
	if _, err := runner.Command(context.Background(), dir, runner.Options{}); err == nil || !strings.Contains(err.Error(), "api, worker") {
		t.Errorf("err = %v, want a choice between api and worker", err)
	}
	if c, err := runner.Command(context.Background(), dir, runner.Options{Cmd: "worker"}); err != nil || c.Args[2] != "./cmd/worker" {
		t.Errorf("--cmd worker: %v, %v", c, err)
	}
	if _, err := runner.Command(context.Background(), dir, runner.Options{Cmd: "lib"}); err == nil {
		t.Error("--cmd lib (not a main package): no error")
	}
}
