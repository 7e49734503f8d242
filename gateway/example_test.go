package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/log"
)

// A gateway in front of one backend, routing /api/v1/users/{id} to it with
// the /api prefix stripped, and answering unknown paths with the Zelos
// error body.
func ExampleNew() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user service got %s", r.URL.Path)
	}))
	defer backend.Close()

	cfg, err := gateway.ParseConfig([]byte(`
endpoints:
  - name: users
    path: /api/v1/users/{id}
    methods: [GET]
    rewrite: {strip_prefix: /api}
    backends: [{target: "`+backend.URL+`"}]
`), "gateway.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	gw, err := gateway.New(cfg, gateway.WithLogger(log.NewStdLogger(io.Discard)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer gw.Close()

	for _, path := range []string{"/api/v1/users/42", "/api/v1/orders"} {
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user service got /v1/users/42
	// 404 {"code":404,"reason":"NOT_FOUND","message":"gateway: no route for GET /api/v1/orders"}
}

// Configuration errors name the file, the line and the field.
func ExampleParseConfig() {
	_, err := gateway.ParseConfig([]byte(`
endpoints:
  - path: /a
    backends: [{target: "htp://typo"}]
`), "gateway.yaml")
	fmt.Println(err)
	// Output:
	// gateway: invalid configuration:
	//	gateway.yaml:4: endpoints[0].backends[0].target: "htp://typo" is not discovery:///name or an http(s)/grpc URL
}
