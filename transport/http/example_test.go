package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/http"
)

type HelloRequest struct {
	Name string `json:"name"`
}

type HelloReply struct {
	Message string `json:"message"`
}

func get(h nethttp.Handler, method, target, body string) string {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return fmt.Sprintf("%d %s", w.Code, strings.TrimSpace(w.Body.String()))
}

func ExampleNewServer() {
	srv := http.NewServer(http.Address(":8000"), http.Logger(log.NewStdLogger(io.Discard)))
	r := srv.Route("/v1")
	r.GET("/users/{id}", func(ctx http.Context) error {
		return ctx.Result(200, map[string]string{"id": ctx.Vars().Get("id")})
	})
	r.POST("/users/{id}:cancel", func(ctx http.Context) error {
		return ctx.String(200, "canceled "+ctx.Vars().Get("id"))
	})

	// The server is a nethttp.Handler; srv.Start(ctx) would serve it on :8000.
	fmt.Println(get(srv, "GET", "/v1/users/42", ""))
	fmt.Println(get(srv, "POST", "/v1/users/42:cancel", ""))
	fmt.Println(get(srv, "GET", "/v2/nothing", ""))
	fmt.Println(get(srv, "PUT", "/v1/users/42", ""))
	// Output:
	// 200 {"id":"42"}
	// 200 canceled 42
	// 404 {"code":404,"reason":"NOT_FOUND","message":"no route for GET /v2/nothing"}
	// 405 {"code":405,"reason":"METHOD_NOT_ALLOWED","message":"method PUT not allowed for /v1/users/42"}
}

func ExampleUnary() {
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)))
	// As generated code registers an RPC: POST /v1/hello/{name} with body "*".
	http.Unary(srv.Route("/"), "POST", "/v1/hello/{name}", "/helloworld.v1.Greeter/SayHello",
		func(ctx context.Context, in *HelloRequest) (*HelloReply, error) {
			if in.Name == "nobody" {
				return nil, errors.NotFound("USER_NOT_FOUND", "no such user")
			}
			return &HelloReply{Message: "Hello " + in.Name}, nil
		})
	fmt.Println(get(srv, "POST", "/v1/hello/zelos", `{}`))
	fmt.Println(get(srv, "POST", "/v1/hello/nobody", `{}`))
	fmt.Println(get(srv, "POST", "/v1/hello/x", `{"name":`))
	// Output:
	// 200 {"message":"Hello zelos"}
	// 404 {"code":404,"reason":"USER_NOT_FOUND","message":"no such user"}
	// 400 {"code":400,"reason":"BAD_REQUEST_BODY","message":"invalid json body: json: unmarshal into *http_test.HelloRequest: unexpected end of JSON input"}
}

// A team wraps its replies in a {code, message, data} envelope on some
// routes only.
func ExampleRouteResponseEncoder() {
	type envelope struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}
	encode := func(w nethttp.ResponseWriter, r *nethttp.Request, v any) error {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(envelope{Code: 0, Message: "ok", Data: v})
	}
	encodeError := func(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
		se := errors.FromError(err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200) // the envelope carries the error
		_ = json.NewEncoder(w).Encode(envelope{Code: se.Code, Message: se.Message})
	}
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)))
	r := srv.Route("/legacy")
	opts := []http.RouteOption{http.RouteResponseEncoder(encode), http.RouteErrorEncoder(encodeError)}
	http.Unary(r, "GET", "/hello/{name}", "/legacy.Greeter/SayHello",
		func(ctx context.Context, in *HelloRequest) (*HelloReply, error) {
			if in.Name == "error" {
				return nil, errors.Forbidden("DENIED", "not allowed")
			}
			return &HelloReply{Message: "Hello " + in.Name}, nil
		}, opts...)
	srv.Route("/").GET("/plain", func(ctx http.Context) error {
		return ctx.Result(200, &HelloReply{Message: "not wrapped"})
	})
	fmt.Println(get(srv, "GET", "/legacy/hello/zelos", ""))
	fmt.Println(get(srv, "GET", "/legacy/hello/error", ""))
	fmt.Println(get(srv, "GET", "/plain", ""))
	// Output:
	// 200 {"code":0,"message":"ok","data":{"message":"Hello zelos"}}
	// 200 {"code":403,"message":"not allowed"}
	// 200 {"message":"not wrapped"}
}

func ExampleNewClient() {
	srv := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(log.NewStdLogger(io.Discard)))
	http.Unary(srv.Route("/"), "GET", "/helloworld/{name}", "/helloworld.v1.Greeter/SayHello",
		func(ctx context.Context, in *HelloRequest) (*HelloReply, error) {
			if in.Name == "error" {
				return nil, errors.NotFound("USER_NOT_FOUND", "no user named error")
			}
			return &HelloReply{Message: "Hello " + in.Name}, nil
		})
	u, err := srv.Endpoint()
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	defer func() {
		_ = srv.Stop(context.Background())
		<-done
	}()

	ctx := context.Background()
	client, err := http.NewClient(ctx, http.WithEndpoint(u.String()))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// What a generated client does.
	call := func(name string) {
		in := &HelloRequest{Name: name}
		out := new(HelloReply)
		path := http.EncodeURL("/helloworld/{name}", in, true)
		err := client.Invoke(ctx, "GET", path, nil, out,
			http.Operation("/helloworld.v1.Greeter/SayHello"), http.PathTemplate("/helloworld/{name}"))
		if err != nil {
			fmt.Println(errors.Code(err), errors.Reason(err))
			return
		}
		fmt.Println(out.Message)
	}
	call("zelos")
	call("error")
	// Output:
	// Hello zelos
	// 404 USER_NOT_FOUND
}

// Uploaded files bind into fields of type *multipart.FileHeader,
// []*multipart.FileHeader or []byte named like the form field (form, json
// or proto name); other form fields bind like a query string. Bodies are
// bounded by MaxBodySize.
func Example_fileUpload() {
	type upload struct {
		Title   string                `form:"title"`
		Avatar  *multipart.FileHeader `form:"avatar"`
		Content []byte                `form:"notes"`
	}
	srv := http.NewServer(http.MaxBodySize(1<<20), http.Logger(log.NewStdLogger(io.Discard)))
	srv.Route("/").POST("/upload", func(ctx http.Context) error {
		var u upload
		if err := ctx.Bind(&u); err != nil {
			return err
		}
		return ctx.String(200, fmt.Sprintf("%s: %s (%d bytes), notes %q", u.Title, u.Avatar.Filename, u.Avatar.Size, u.Content))
	})

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("title", "profile")
	fw, _ := mw.CreateFormFile("avatar", "me.png")
	_, _ = fw.Write([]byte("\x89PNG..."))
	fw, _ = mw.CreateFormFile("notes", "notes.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 profile: me.png (7 bytes), notes "hello"
}

// YAML request bodies are refused unless the server names them among its
// RequestCodecs; this one also waits at most 10 s for a body to arrive.
func ExampleRequestCodecs() {
	newServer := func(opts ...http.ServerOption) *http.Server {
		srv := http.NewServer(append(opts, http.Logger(log.NewStdLogger(io.Discard)))...)
		http.Unary(srv.Route("/"), "POST", "/v1/hello", "/helloworld.v1.Greeter/SayHello",
			func(ctx context.Context, in *HelloRequest) (*HelloReply, error) {
				return &HelloReply{Message: "Hello " + in.Name}, nil
			})
		return srv
	}
	post := func(h nethttp.Handler, body string) string {
		req := httptest.NewRequest("POST", "/v1/hello", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/yaml")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return fmt.Sprintf("%d %s", w.Code, strings.TrimSpace(w.Body.String()))
	}
	fmt.Println(post(newServer(), "name: yaml\n"))
	fmt.Println(post(newServer(http.RequestCodecs("json", "yaml"), http.BodyTimeout(10*time.Second)), "name: yaml\n"))
	// Output:
	// 415 {"code":415,"reason":"UNSUPPORTED_MEDIA_TYPE","message":"unsupported Content-Type \"application/yaml\""}
	// 200 {"message":"Hello yaml"}
}
