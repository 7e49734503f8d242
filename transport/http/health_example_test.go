package http_test

import (
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/http"
)

// Every server answers /healthz, /readyz and /health; the options move
// them, and a route of the user on the same path wins.
func ExampleReadinessPaths() {
	srv := http.NewServer(
		http.Logger(log.NewStdLogger(io.Discard)),
		http.LivenessPaths("/livez"),
		http.ReadinessPaths("/readyz", "/health"),
	)
	srv.HandleFunc("GET /health", func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		fmt.Fprintln(w, "my own health route")
	})
	for _, path := range []string{"/livez", "/readyz", "/health", "/healthz"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		fmt.Printf("%s %d %s", path, rec.Code, body)
		if rec.Code == 404 {
			fmt.Println()
		}
	}
	// Output:
	// /livez 200 ok
	// /readyz 200 ok
	// /health 200 my own health route
	// /healthz 404 {"code":404,"reason":"NOT_FOUND","message":"no route for GET /healthz"}
}
