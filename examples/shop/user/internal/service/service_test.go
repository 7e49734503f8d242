package service_test

import (
	"context"
	"io"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/user/internal/data"
	"github.com/zelos-go/zelos/examples/shop/user/internal/service"
	"github.com/zelos-go/zelos/log"
)

func newService(t *testing.T) *service.UserService {
	t.Helper()
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	uc, err := biz.NewUserUsecase(data.NewUserRepo(d), biz.TokenIssuer{Secret: []byte("s"), TTL: time.Hour}, bcrypt.MinCost, log.NewStdLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	return service.NewUserService(uc)
}

func TestUserService(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	cr, err := s.CreateUser(ctx, &v1.CreateUserRequest{Name: "Ann", Email: "ann@x.y", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	u := cr.GetUser()
	if u.GetId() == "" || u.GetEmail() != "ann@x.y" {
		t.Fatalf("CreateUser = %v", cr)
	}
	if _, err := time.Parse(time.RFC3339, u.GetCreatedAt()); err != nil {
		t.Fatalf("created_at %q is not RFC 3339", u.GetCreatedAt())
	}
	if _, err := s.CreateUser(ctx, &v1.CreateUserRequest{Name: "Ann", Email: "ann@x.y", Password: "password1"}); !v1.IsEmailTaken(err) {
		t.Fatalf("second CreateUser = %v", err)
	}
	lr, err := s.Login(ctx, &v1.LoginRequest{Email: "ann@x.y", Password: "password1"})
	if err != nil || lr.GetToken() == "" || lr.GetUser().GetId() != u.GetId() || lr.GetExpiresAt() == "" {
		t.Fatalf("Login = %v, %v", lr, err)
	}
	if _, err := s.Login(ctx, &v1.LoginRequest{Email: "ann@x.y", Password: "nope-nope"}); !v1.IsInvalidCredentials(err) {
		t.Fatalf("Login with a wrong password = %v", err)
	}
	gr, err := s.GetUser(ctx, &v1.GetUserRequest{Id: u.GetId()})
	if err != nil || gr.GetUser().GetName() != "Ann" {
		t.Fatalf("GetUser = %v, %v", gr, err)
	}
	if _, err := s.GetUser(ctx, &v1.GetUserRequest{}); !v1.IsInvalidUser(err) {
		t.Fatalf("GetUser without id = %v", err)
	}
	lu, err := s.ListUsers(ctx, &v1.ListUsersRequest{})
	if err != nil || lu.GetTotal() != 1 || len(lu.GetUsers()) != 1 {
		t.Fatalf("ListUsers = %v, %v", lu, err)
	}
}
