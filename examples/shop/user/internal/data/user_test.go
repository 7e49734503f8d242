package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
)

func newRepo(t *testing.T) (*Data, biz.UserRepo) {
	t.Helper()
	d, closeData, err := NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	return d, NewUserRepo(d)
}

func TestUserRepo(t *testing.T) {
	d, r := newRepo(t)
	ctx := context.Background()
	if err := d.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		u := &biz.User{ID: fmt.Sprint("id", i), Name: "n", Email: fmt.Sprintf("u%d@x.y", i), PasswordHash: []byte("h"), CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if err := r.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("duplicate email", func(t *testing.T) {
		err := r.Create(ctx, &biz.User{ID: "other", Name: "n", Email: "u0@x.y", PasswordHash: []byte("h"), CreatedAt: base})
		if !errors.Is(err, biz.ErrEmailTaken) {
			t.Fatalf("err = %v, want ErrEmailTaken", err)
		}
	})
	t.Run("get", func(t *testing.T) {
		u, err := r.Get(ctx, "id1")
		if err != nil || u.Email != "u1@x.y" || string(u.PasswordHash) != "h" || !u.CreatedAt.Equal(base.Add(time.Second)) {
			t.Fatalf("Get = %+v, %v", u, err)
		}
		if _, err := r.Get(ctx, "nope"); !errors.Is(err, biz.ErrNotFound) {
			t.Fatalf("Get(nope) = %v", err)
		}
	})
	t.Run("by email", func(t *testing.T) {
		u, err := r.GetByEmail(ctx, "u2@x.y")
		if err != nil || u.ID != "id2" {
			t.Fatalf("GetByEmail = %+v, %v", u, err)
		}
		if _, err := r.GetByEmail(ctx, "U2@x.y"); !errors.Is(err, biz.ErrNotFound) {
			t.Fatalf("emails are stored lower case by biz; the repo matches exactly: %v", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		us, total, err := r.List(ctx, 1, 5)
		if err != nil || total != 3 || len(us) != 2 || us[0].ID != "id1" {
			t.Fatalf("List = %d users (total %d), %v", len(us), total, err)
		}
	})
	t.Run("closed database", func(t *testing.T) {
		sqlDB, _ := d.DB.DB()
		_ = sqlDB.Close()
		if _, err := r.Get(ctx, "id1"); err == nil || errors.Is(err, biz.ErrNotFound) {
			t.Fatalf("Get on a closed database = %v, want the driver's error", err)
		}
		if _, _, err := r.List(ctx, 0, 1); err == nil {
			t.Fatal("List on a closed database succeeded")
		}
		if err := d.Ping(ctx); err == nil {
			t.Fatal("Ping on a closed database succeeded")
		}
	})
}

func TestNewDataErrors(t *testing.T) {
	_, _, err := NewData(context.Background(), conf.Data{Database: conf.Database{Driver: "oracle"}})
	if err == nil || !strings.Contains(err.Error(), "unknown driver") {
		t.Fatalf("err = %v", err)
	}
}
