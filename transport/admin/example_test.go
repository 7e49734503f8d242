package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/transport/admin"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// An App with a public HTTP server and the admin server beside it, on
// loopback. The metrics handler would be contrib/metrics/prometheus's
// Handler(reg); any http.Handler does. The hook scrapes the admin server
// once the App is ready, then stops the App.
func ExampleNewServer() {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "up 1")
	})
	adm := admin.NewServer(admin.Address("127.0.0.1:0"), admin.Metrics(metrics), admin.Logger(quiet))
	api := zhttp.NewServer(zhttp.Address("127.0.0.1:0"), zhttp.Logger(quiet))

	var app *zelos.App
	scrape := func(context.Context) error {
		defer app.Stop()
		addr, err := adm.Addr()
		if err != nil {
			return err
		}
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		for _, path := range []string{"/metrics", "/readyz"} {
			resp, err := (&http.Client{Transport: tr}).Get("http://" + addr.String() + path)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%s %d %s", path, resp.StatusCode, body)
		}
		return nil
	}
	app = zelos.New(zelos.Server(api, adm), zelos.Signal(), zelos.AfterStart(scrape))
	if err := app.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// /metrics 200 up 1
	// /readyz 200 ok
}
