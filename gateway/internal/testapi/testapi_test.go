package testapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/gateway/internal/testapi"
	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLibrary checks the backend the gateway's tests rely on, through its
// generated gRPC client.
func TestLibrary(t *testing.T) {
	conn, err := grpc.NewClient(testapi.StartGRPC(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := testapiv1.NewLibraryClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("errors", func(t *testing.T) {
		_, err := c.GetBook(ctx, &testapiv1.GetBookRequest{Name: "shelves/1/books/missing"})
		if !testapiv1.IsBookNotFound(err) || errors.FromError(err).Metadata["name"] != "shelves/1/books/missing" {
			t.Fatalf("GetBook: %v", err)
		}
		if _, err := c.DeleteBook(ctx, &testapiv1.DeleteBookRequest{Name: "x-missing"}); !testapiv1.IsBookNotFound(err) {
			t.Fatalf("DeleteBook: %v", err)
		}
		if _, err := c.GetShelf(ctx, &testapiv1.GetShelfRequest{Id: -1}); errors.Reason(err) != "OUT_OF_RANGE" {
			t.Fatalf("GetShelf: %v", err)
		}
	})
	t.Run("replies", func(t *testing.T) {
		if b, err := c.CreateBook(ctx, &testapiv1.CreateBookRequest{Shelf: 2, RequestId: "r"}); err != nil || b.GetName() != "shelves/2/books/r" {
			t.Fatalf("CreateBook: %v %v", b, err)
		}
		if b, err := c.UpdateBook(ctx, &testapiv1.UpdateBookRequest{}); err != nil || len(b.GetTags()) != 0 {
			t.Fatalf("UpdateBook: %v %v", b, err)
		}
		if b, err := c.ArchiveBook(ctx, &testapiv1.ArchiveBookRequest{Shelf: 1, Book: 2, Reason: "old"}); err != nil || b.GetTitle() != "old" {
			t.Fatalf("ArchiveBook: %v %v", b, err)
		}
		if _, err := c.Ping(ctx, &emptypb.Empty{}); err != nil {
			t.Fatal(err)
		}
		var header metadata.MD
		out, err := c.Echo(metadata.AppendToOutgoingContext(ctx, "x-md-a", "1"), &testapiv1.EchoRequest{Text: "a b", Repeat: 2}, grpc.Header(&header))
		if err != nil || out.GetText() != "a ba b" || out.GetMetadata()["x-md-a"] != "1" || header.Get("x-md-echo")[0] != "a+b" {
			t.Fatalf("Echo: %v %v %v", out, header, err)
		}
	})
	t.Run("streams", func(t *testing.T) {
		s, err := c.WatchShelf(ctx, &testapiv1.WatchShelfRequest{Shelf: 1, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, err := s.Recv(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("%d events", n)
		}
		s, err = c.WatchShelf(ctx, &testapiv1.WatchShelfRequest{Shelf: 1, Count: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); !testapiv1.IsBookNotFound(err) {
			t.Fatalf("second Recv: %v", err)
		}
		s, err = c.WatchShelf(ctx, &testapiv1.WatchShelfRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); errors.Reason(err) != "SHELF_REQUIRED" {
			t.Fatalf("Recv without a shelf: %v", err)
		}
		up, err := c.Upload(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := up.Send(&testapiv1.Chunk{Data: []byte("abc")}); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := up.CloseAndRecv(); err != nil || res.GetSize() != 9 {
			t.Fatalf("Upload: %v %v", res, err)
		}
	})
}

// TestStartHTTP checks the Library's own HTTP server.
func TestStartHTTP(t *testing.T) {
	res, err := http.Get(testapi.StartHTTP(t) + "/v1/shelves/3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(strings.ReplaceAll(string(body), " ", ""), `"theme":"theme3"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}
