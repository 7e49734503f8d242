package protoserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoserver"
)

const twoServices = `syntax = "proto3";
package shop.v1;
import "google/protobuf/empty.proto";
option go_package = "example.com/shop/api/shop/v1;v1";
service Orders {
  rpc Get(Req) returns (Rep);
  rpc Watch(Req) returns (stream Rep);
}
service CartService {
  rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
  rpc Fill(stream Req) returns (Rep);
  rpc Talk(stream Req) returns (stream Rep);
}
message Req {}
message Rep {}
`

// TestWrite writes a stub per service into a directory of a module, each
// named after its service, with every method, and never overwrites one.
func TestWrite(t *testing.T) {
	dir := gentest.Files(t, map[string]string{"go.mod": "module example.com/shop\n", "api/shop/v1/shop.proto": twoServices})
	t.Chdir(dir)
	res, err := protoserver.Write(context.Background(), "api/shop/v1/shop.proto", protoserver.Options{Dir: filepath.Join("internal", "my-svc")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Path != filepath.Join("internal", "my-svc", "orders.go") || res[1].Path != filepath.Join("internal", "my-svc", "cartservice.go") || res[0].Skipped {
		t.Fatalf("Write = %+v", res)
	}
	orders, err := os.ReadFile(res[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	cart, err := os.ReadFile(res[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"package mysvc\n",
		`v1 "example.com/shop/api/shop/v1"`,
		"type OrdersService struct {",
		"v1.UnimplementedOrdersServer",
		"func (s *OrdersService) Get(ctx context.Context, req *v1.Req) (*v1.Rep, error) {",
		"func (s *OrdersService) Watch(req *v1.Req, stream grpc.ServerStreamingServer[v1.Rep]) error {",
	} {
		if !strings.Contains(string(orders), want) {
			t.Errorf("orders.go lacks %q:\n%s", want, orders)
		}
	}
	for _, want := range []string{
		"type CartService struct {", // no ServiceService
		"func (s *CartService) Fill(stream grpc.ClientStreamingServer[v1.Req, v1.Rep]) error {",
		"func (s *CartService) Talk(stream grpc.BidiStreamingServer[v1.Req, v1.Rep]) error {",
		"func (s *CartService) Ping(ctx context.Context, req *emptypb.Empty) (*emptypb.Empty, error) {",
	} {
		if !strings.Contains(string(cart), want) {
			t.Errorf("cartservice.go lacks %q:\n%s", want, cart)
		}
	}

	if err := os.WriteFile(res[0].Path, []byte("package mysvc // mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(res[1].Path); err != nil {
		t.Fatal(err)
	}
	res, err = protoserver.Write(context.Background(), "api/shop/v1/shop.proto", protoserver.Options{Dir: filepath.Join("internal", "my-svc")})
	if err != nil || len(res) != 2 || !res[0].Skipped || res[1].Skipped {
		t.Fatalf("second Write = %+v, %v; want orders.go skipped, cartservice.go written", res, err)
	}
	if b, _ := os.ReadFile(res[0].Path); string(b) != "package mysvc // mine\n" {
		t.Error("an existing stub was overwritten")
	}
}

// TestWriteDefaults writes into internal/service outside any module.
func TestWriteDefaults(t *testing.T) {
	dir := gentest.Files(t, map[string]string{"x.proto": twoServices})
	t.Chdir(dir)
	res, err := protoserver.Write(context.Background(), "x.proto", protoserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || filepath.Dir(res[0].Path) != filepath.Join("internal", "service") {
		t.Fatalf("Write = %+v", res)
	}
	if b, _ := os.ReadFile(res[0].Path); !strings.HasPrefix(string(b), "package service\n") {
		t.Errorf("stub:\n%s", b)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := gentest.Files(t, map[string]string{
		"taken":      "", // a file where the target directory should be
		"none.proto": "syntax = \"proto3\";\npackage n;\noption go_package = \"example.com/n;n\";\nmessage M {}\n",
		"bad.proto":  "syntax = \"proto3\";\nmessage {\n",
		"svc.proto":  twoServices,
	})
	t.Chdir(dir)
	if _, err := protoserver.Write(context.Background(), "none.proto", protoserver.Options{}); err == nil || err.Error() != "zelos proto server: none.proto has no service" {
		t.Errorf("no service: %v", err)
	}
	if _, err := protoserver.Write(context.Background(), "bad.proto", protoserver.Options{}); err == nil || !strings.HasPrefix(err.Error(), "bad.proto:2:") {
		t.Errorf("syntax error: %v", err)
	}
	if _, err := protoserver.Write(context.Background(), "svc.proto", protoserver.Options{Dir: filepath.Join("taken", "svc")}); err == nil {
		t.Error("target under a file: no error")
	}
}
