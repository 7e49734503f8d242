package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/user/internal/data"
	"github.com/zelos-go/zelos/examples/shop/user/internal/server"
	"github.com/zelos-go/zelos/examples/shop/user/internal/service"
	"github.com/zelos-go/zelos/log"
)

// TestRegister serves the generated routes in-process.
func TestRegister(t *testing.T) {
	logger := log.NewStdLogger(io.Discard)
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeData()
	uc, err := biz.NewUserUsecase(data.NewUserRepo(d), biz.TokenIssuer{Secret: []byte("s"), TTL: time.Hour}, bcrypt.MinCost, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kit.New(context.Background(), kit.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	server.Register(svc, service.NewUserService(uc))
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/v1/users", `{"name":"A","email":"a@x.y","password":"password1"}`, 200, `"email":"a@x.y"`},
		{"POST", "/api/v1/login", `{"email":"a@x.y","password":"password1"}`, 200, `"token":"`},
		{"GET", "/api/v1/users", "", 200, `"total":1`},
		{"GET", "/api/v1/users/nope", "", 404, `"USER_NOT_FOUND"`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			svc.HTTP.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d with %s", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
}
