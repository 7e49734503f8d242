// Package testapi is the gateway's test backend: an implementation of the
// zelos.gateway.testapi.v1.Library service (v1/testapi.proto) whose replies
// show what it received, served by a real Zelos gRPC server on loopback.
//
//	addr := testapi.StartGRPC(t)          // 127.0.0.1:port, reflection on
//	conn, _ := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
package testapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/zelos-go/zelos/errors"
	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
	"github.com/zelos-go/zelos/log"
	zgrpc "github.com/zelos-go/zelos/transport/grpc"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// Library implements testapiv1.LibraryServer. The zero value is ready.
type Library struct {
	testapiv1.UnimplementedLibraryServer
}

var _ testapiv1.LibraryServer = (*Library)(nil)

// GetShelf returns shelf id; a negative id fails with a plain gRPC status
// (OUT_OF_RANGE), as a backend that is not Zelos would.
func (*Library) GetShelf(_ context.Context, in *testapiv1.GetShelfRequest) (*testapiv1.Shelf, error) {
	if in.GetId() < 0 {
		return nil, status.Errorf(codes.OutOfRange, "shelf %d out of range", in.GetId())
	}
	return &testapiv1.Shelf{Id: in.GetId(), Theme: fmt.Sprintf("theme %d", in.GetId())}, nil
}

// GetBook returns the book named; a name ending in "missing" is
// BOOK_NOT_FOUND.
func (*Library) GetBook(_ context.Context, in *testapiv1.GetBookRequest) (*testapiv1.Book, error) {
	if strings.HasSuffix(in.GetName(), "missing") {
		return nil, notFound(in.GetName())
	}
	return &testapiv1.Book{Name: in.GetName(), Title: "title of " + in.GetName()}, nil
}

func notFound(name string) error {
	return testapiv1.ErrorBookNotFound("book %s not found", name).WithMetadata(map[string]string{"name": name})
}

// ListBooks returns the request it received, and one book per tag.
func (*Library) ListBooks(_ context.Context, in *testapiv1.ListBooksRequest) (*testapiv1.ListBooksResponse, error) {
	out := &testapiv1.ListBooksResponse{Request: in}
	for _, tag := range in.GetTags() {
		out.Books = append(out.Books, &testapiv1.Book{Name: fmt.Sprintf("shelves/%d/books/%s", in.GetShelf(), tag), Tags: []string{tag}})
	}
	return out, nil
}

// CreateBook returns the book, named after the shelf and request id.
func (*Library) CreateBook(_ context.Context, in *testapiv1.CreateBookRequest) (*testapiv1.Book, error) {
	b := proto.Clone(in.GetBook()).(*testapiv1.Book)
	if b == nil {
		b = &testapiv1.Book{}
	}
	b.Name = fmt.Sprintf("shelves/%d/books/%s", in.GetShelf(), in.GetRequestId())
	return b, nil
}

// UpdateBook returns the book, with the update mask's paths as its tags.
func (*Library) UpdateBook(_ context.Context, in *testapiv1.UpdateBookRequest) (*testapiv1.Book, error) {
	b := proto.Clone(in.GetBook()).(*testapiv1.Book)
	if b == nil {
		b = &testapiv1.Book{}
	}
	b.Tags = append(b.Tags, in.GetUpdateMask().GetPaths()...)
	return b, nil
}

// DeleteBook fails with BOOK_NOT_FOUND (name in the metadata) for a name
// ending in "missing".
func (*Library) DeleteBook(_ context.Context, in *testapiv1.DeleteBookRequest) (*emptypb.Empty, error) {
	if strings.HasSuffix(in.GetName(), "missing") {
		return nil, notFound(in.GetName())
	}
	return &emptypb.Empty{}, nil
}

// GetAuthor returns author id.
func (*Library) GetAuthor(_ context.Context, in *testapiv1.GetAuthorRequest) (*testapiv1.GetAuthorResponse, error) {
	return &testapiv1.GetAuthorResponse{
		Author: &testapiv1.Author{Id: in.GetId(), DisplayName: "Author " + in.GetId()},
		Etag:   "etag-" + in.GetId(),
	}, nil
}

// ArchiveBook returns the archived book, the reason as its title.
func (*Library) ArchiveBook(_ context.Context, in *testapiv1.ArchiveBookRequest) (*testapiv1.Book, error) {
	return &testapiv1.Book{Name: fmt.Sprintf("shelves/%d/books/%d", in.GetShelf(), in.GetBook()), Title: in.GetReason()}, nil
}

// Echo returns the text repeated and the incoming metadata, and sends the
// reply header x-md-echo: the text.
func (*Library) Echo(ctx context.Context, in *testapiv1.EchoRequest) (*testapiv1.EchoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	out := &testapiv1.EchoResponse{Text: strings.Repeat(in.GetText(), max(int(in.GetRepeat()), 1)), Metadata: map[string]string{}}
	for k, vs := range md {
		out.Metadata[k] = strings.Join(vs, ",")
	}
	_ = ggrpc.SetHeader(ctx, metadata.Pairs("x-md-echo", url.QueryEscape(in.GetText()), "other", "no"))
	return out, nil
}

// WatchShelf sends count events; shelf 0 is refused before the first, and
// a negative count fails the stream with BOOK_NOT_FOUND after one event. A
// count over 1000 streams until the client goes away, an event every 10 ms.
func (*Library) WatchShelf(in *testapiv1.WatchShelfRequest, s ggrpc.ServerStreamingServer[testapiv1.ShelfEvent]) error {
	if in.GetShelf() == 0 {
		return errors.BadRequest("SHELF_REQUIRED", "a shelf is required")
	}
	_ = s.SetHeader(metadata.Pairs("x-md-shelf", fmt.Sprint(in.GetShelf())))
	n := int(in.GetCount())
	if n < 0 {
		if err := s.Send(&testapiv1.ShelfEvent{Seq: 1, Kind: "first"}); err != nil {
			return err
		}
		return notFound(fmt.Sprintf("shelves/%d/books/gone", in.GetShelf()))
	}
	for i := 1; i <= n; i++ {
		if err := s.Send(&testapiv1.ShelfEvent{Seq: int32(i), Kind: "added"}); err != nil {
			return err
		}
		if n > 1000 {
			select {
			case <-s.Context().Done():
				return s.Context().Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// Upload counts the bytes it receives.
func (*Library) Upload(s ggrpc.ClientStreamingServer[testapiv1.Chunk, testapiv1.UploadResponse]) error {
	var n int64
	for {
		c, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&testapiv1.UploadResponse{Size: n})
		}
		if err != nil {
			return err
		}
		n += int64(len(c.GetData()))
	}
}

// Ping answers.
func (*Library) Ping(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// quiet is the logger of the test servers: their start and stop lines
// would only clutter test output.
var quiet = log.NewStdLogger(io.Discard)

// StartGRPC serves a Library on a Zelos gRPC server (with reflection) on
// 127.0.0.1:0 until the test ends, and returns its host:port. opts are
// added to the server's.
func StartGRPC(t testing.TB, opts ...zgrpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := zgrpc.NewServer(append([]zgrpc.ServerOption{zgrpc.Listener(lis), zgrpc.Logger(quiet)}, opts...)...)
	testapiv1.RegisterLibraryServer(srv, &Library{})
	start(t, srv)
	return lis.Addr().String()
}

// StartHTTP serves a Library's HTTP routes (the generated code) on a Zelos
// HTTP server on 127.0.0.1:0 until the test ends, and returns its base URL:
// what the gateway's transcoding must be indistinguishable from.
func StartHTTP(t testing.TB, opts ...zhttp.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := zhttp.NewServer(append([]zhttp.ServerOption{zhttp.Listener(lis), zhttp.Logger(quiet)}, opts...)...)
	testapiv1.RegisterLibraryHTTPServer(srv, &Library{})
	start(t, srv)
	return "http://" + lis.Addr().String()
}

type server interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// start runs srv until the test ends; Cleanup waits for Start to return,
// so that no goroutine outlives the test.
func start(t testing.TB, srv server) {
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		if err := <-done; err != nil {
			t.Errorf("testapi: server: %v", err)
		}
	})
}
