package zookeeper_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zelos-go/zelos/contrib/registry/zookeeper"
	"github.com/zelos-go/zelos/registry"
)

// Example registers an instance in ZooKeeper and watches its service. It
// needs a ZooKeeper at $ZOOKEEPER_ADDR (default 127.0.0.1:2181), so it has
// no Output line for go test to check: TestExample runs it against the
// tests' ZooKeeper and checks what it prints.
func Example() {
	addr := os.Getenv("ZOOKEEPER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:2181"
	}
	r, err := zookeeper.New([]string{addr},
		zookeeper.WithRootPath("/prod"),
		zookeeper.WithSessionTimeout(10*time.Second),
	)
	if err != nil {
		panic(err)
	}
	defer r.Close() // ends the session: ZooKeeper deletes what is still registered

	ctx := context.Background()
	svc := &registry.ServiceInstance{
		ID:        "greeter-1",
		Name:      "greeter",
		Version:   "v1.0.0",
		Endpoints: []string{"grpc://127.0.0.1:9000"},
	}
	if err := r.Register(ctx, svc); err != nil {
		panic(err)
	}

	w, err := r.Watch(ctx, "greeter")
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	list, _ := w.Next() // the current instances, at once
	fmt.Println(list[0].ID, list[0].Version, list[0].Endpoints)

	if err := r.Deregister(ctx, svc); err != nil {
		panic(err)
	}
	list, _ = w.Next() // a ZooKeeper watch reports the change
	fmt.Println(len(list), "instances")
}

// TestExample runs Example against the tests' ZooKeeper.
func TestExample(t *testing.T) {
	s := startServer(t)
	t.Setenv("ZOOKEEPER_ADDR", s.addr)
	out := captureStdout(t, Example)
	want := "greeter-1 v1.0.0 [grpc://127.0.0.1:9000]\n0 instances\n"
	if out != want {
		t.Fatalf("Example printed %q; want %q", out, want)
	}
}

// captureStdout returns what fn prints to os.Stdout.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = wr
	done := make(chan []byte)
	go func() {
		var buf []byte
		b := make([]byte, 4096)
		for {
			n, err := rd.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil {
				done <- buf
				return
			}
		}
	}()
	defer func() { os.Stdout = orig }()
	fn()
	wr.Close()
	out := <-done
	rd.Close()
	return string(out)
}
