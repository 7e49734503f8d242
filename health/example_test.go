package health_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/zelos-go/zelos/health"
)

// A Status with a dependency check, probed before and after the service
// is up and while its database is down.
func ExampleReadinessHandler() {
	dbUp := true
	st := health.NewStatus(health.Check{Name: "db", Func: func(context.Context) error {
		if !dbUp {
			return errors.New("connection refused")
		}
		return nil
	}})
	readyz := health.ReadinessHandler(st)
	probe := func(target string) {
		rec := httptest.NewRecorder()
		readyz.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		body, _ := io.ReadAll(rec.Body)
		fmt.Printf("%d %s", rec.Code, body)
	}

	probe("/readyz") // starting
	st.Set(health.Serving)
	probe("/readyz")
	dbUp = false
	probe("/readyz?verbose")
	// Output:
	// 503 not ready: starting
	// 200 ok
	// 503 [+]serving ok
	// [-]db failed
	// readyz check failed
}

// Watch follows the state, as the gRPC server's health service does.
func ExampleStatus_Watch() {
	st := health.NewStatus()
	stop := st.Watch(func(s health.State) { fmt.Println("now", s) })
	defer stop()
	st.Set(health.Serving)
	st.Set(health.Stopping)
	// Output:
	// now starting
	// now serving
	// now stopping
}
