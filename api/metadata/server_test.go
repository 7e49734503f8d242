package metadata_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/api/metadata"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Username: fmt.Sprint("echo:", in.GetFillUsername())}, nil
}

func start(t *testing.T) (*grpc.Server, *ggrpc.ClientConn) {
	t.Helper()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)))
	testpb.RegisterTestServiceServer(srv, echo{})
	metadata.RegisterMetadataServer(srv, metadata.NewServer(srv))
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	cc, err := ggrpc.NewClient(ep.Host, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		_ = srv.Stop(context.Background())
		<-done
	})
	return srv, cc
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestListServices(t *testing.T) {
	_, cc := start(t)
	reply, err := metadata.NewMetadataClient(cc).ListServices(ctx(t), &metadata.ListServicesRequest{}, ggrpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"grpc.testing.TestService", "zelos.api.metadata.v1.Metadata"} {
		if !slices.Contains(reply.Services, want) {
			t.Errorf("services %v lack %s", reply.Services, want)
		}
	}
	if !slices.Contains(reply.Methods, "/grpc.testing.TestService/UnaryCall") || !slices.IsSorted(reply.Methods) {
		t.Errorf("methods = %v", reply.Methods)
	}
}

// TestCallWithReturnedDescriptors builds the request and reply types from
// the returned descriptors alone, as a console would, and calls the
// service with dynamic messages.
func TestCallWithReturnedDescriptors(t *testing.T) {
	_, cc := start(t)
	reply, err := metadata.NewMetadataClient(cc).GetServiceDesc(ctx(t), &metadata.GetServiceDescRequest{Name: "grpc.testing.TestService"}, ggrpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(reply.GetFileDescSet())
	if err != nil {
		t.Fatalf("the returned set does not load: %v", err)
	}
	d, err := files.FindDescriptorByName("grpc.testing.TestService")
	if err != nil {
		t.Fatal(err)
	}
	method := d.(protoreflect.ServiceDescriptor).Methods().ByName("UnaryCall")
	in := dynamicpb.NewMessage(method.Input())
	in.Set(method.Input().Fields().ByName("fill_username"), protoreflect.ValueOfBool(true))
	out := dynamicpb.NewMessage(method.Output())
	if err := cc.Invoke(ctx(t), "/grpc.testing.TestService/UnaryCall", in, out); err != nil {
		t.Fatal(err)
	}
	if got := out.Get(method.Output().Fields().ByName("username")).String(); got != "echo:true" {
		t.Fatalf("username = %q, want echo:true", got)
	}
	// Dependencies come before the files that import them.
	seen := map[string]bool{}
	for _, f := range reply.GetFileDescSet().GetFile() {
		for _, dep := range f.GetDependency() {
			if !seen[dep] {
				t.Errorf("%s listed before its dependency %s", f.GetName(), dep)
			}
		}
		seen[f.GetName()] = true
	}
}

func TestUnknownService(t *testing.T) {
	_, cc := start(t)
	_, err := metadata.NewMetadataClient(cc).GetServiceDesc(ctx(t), &metadata.GetServiceDescRequest{Name: "no.such.Service"}, ggrpc.WaitForReady(true))
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

// registeredOnly serves a name no descriptor exists for.
type registeredOnly map[string]ggrpc.ServiceInfo

func (r registeredOnly) GetServiceInfo() map[string]ggrpc.ServiceInfo { return r }

func TestServiceWithoutDescriptor(t *testing.T) {
	s := metadata.NewServer(registeredOnly{"dyn.Service": {}})
	_, err := s.GetServiceDesc(context.Background(), &metadata.GetServiceDescRequest{Name: "dyn.Service"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

func TestOverHTTP(t *testing.T) {
	grpcSrv, _ := start(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)))
	metadata.RegisterMetadataHTTPServer(hs, metadata.NewServer(grpcSrv))
	done := make(chan error, 1)
	go func() { done <- hs.Start(context.Background()) }()
	defer func() {
		_ = hs.Stop(context.Background())
		<-done
	}()
	base := "http://" + lis.Addr().String()
	res, err := nethttp.Get(base + "/zelos/metadata/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct{ Services []string }
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || !slices.Contains(list.Services, "grpc.testing.TestService") {
		t.Fatalf("GET services: %v %v", list, err)
	}
	res2, err := nethttp.Get(base + "/zelos/metadata/v1/services/grpc.testing.TestService")
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	if res2.StatusCode != 200 {
		t.Fatalf("GET service desc: %d", res2.StatusCode)
	}

	// The generated HTTP client, as a console written in Go would use it.
	hc, err := http.NewClient(context.Background(), http.WithEndpoint(base))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	mc := metadata.NewMetadataHTTPClient(hc)
	l, err := mc.ListServices(ctx(t), &metadata.ListServicesRequest{})
	if err != nil || !slices.Contains(l.Services, "zelos.api.metadata.v1.Metadata") {
		t.Fatalf("HTTP client ListServices: %v, %v", l, err)
	}
	d, err := mc.GetServiceDesc(ctx(t), &metadata.GetServiceDescRequest{Name: "grpc.testing.TestService"})
	if err != nil || len(d.GetFileDescSet().GetFile()) == 0 {
		t.Fatalf("HTTP client GetServiceDesc: %v, %v", d, err)
	}
}
