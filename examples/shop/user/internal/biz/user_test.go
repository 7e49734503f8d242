package biz_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/user/internal/data"
	"github.com/zelos-go/zelos/log"
)

var secret = []byte("test-secret")

// newUsecase returns the use cases over a real SQLite database in a
// temporary directory.
func newUsecase(t *testing.T) (*biz.UserUsecase, biz.UserRepo) {
	t.Helper()
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	repo := data.NewUserRepo(d)
	uc, err := biz.NewUserUsecase(repo, biz.TokenIssuer{Secret: secret, Issuer: "test", TTL: 24 * time.Hour}, bcrypt.MinCost, log.NewStdLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	return uc, repo
}

func TestRegisterAndGet(t *testing.T) {
	uc, repo := newUsecase(t)
	ctx := context.Background()
	u, err := uc.Register(ctx, " Ann ", "Ann@Example.COM", "secret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Ann" || u.Email != "ann@example.com" || u.ID == "" {
		t.Fatalf("registered %+v", u)
	}
	stored, err := repo.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.PasswordHash), "secret-pass") {
		t.Fatal("the password is stored in the clear")
	}
	if bcrypt.CompareHashAndPassword(stored.PasswordHash, []byte("secret-pass")) != nil {
		t.Fatal("the stored hash is not a bcrypt hash of the password")
	}
	got, err := uc.Get(ctx, u.ID)
	if err != nil || got.Email != u.Email {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := uc.Get(ctx, "nope"); !v1.IsUserNotFound(err) || errors.FromError(err).Code != 404 {
		t.Fatalf("Get(nope) = %v, want USER_NOT_FOUND 404", err)
	}
}

func TestRegisterInvalid(t *testing.T) {
	uc, _ := newUsecase(t)
	for _, tc := range []struct{ name, uname, email, password string }{
		{"no name", "", "a@b.c", "12345678"},
		{"long name", strings.Repeat("x", biz.MaxName+1), "a@b.c", "12345678"},
		{"no email", "a", "", "12345678"},
		{"not an email", "a", "not-an-email", "12345678"},
		{"email with a display name", "a", "A <a@b.c>", "12345678"},
		{"long email", "a", strings.Repeat("x", biz.MaxEmail) + "@b.c", "12345678"},
		{"short password", "a", "a@b.c", "1234567"},
		{"long password", "a", "a@b.c", strings.Repeat("p", biz.MaxPassword+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := uc.Register(context.Background(), tc.uname, tc.email, tc.password)
			if !v1.IsInvalidUser(err) || errors.FromError(err).Code != 400 {
				t.Fatalf("err = %v, want INVALID_USER 400", err)
			}
			if strings.Contains(errors.FromError(err).Message, tc.password) {
				t.Fatalf("the error quotes the password: %v", err)
			}
		})
	}
}

// TestRegisterEmailTakenConcurrently registers one email from many
// goroutines at once: the unique index lets exactly one through.
func TestRegisterEmailTakenConcurrently(t *testing.T) {
	uc, _ := newUsecase(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := uc.Register(context.Background(), fmt.Sprint("u", i), "same@example.com", "password1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case v1.IsEmailTaken(err):
			if errors.FromError(err).Code != 409 {
				t.Errorf("EMAIL_TAKEN code = %d, want 409", errors.FromError(err).Code)
			}
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d registrations succeeded, want 1", ok)
	}
}

func TestLogin(t *testing.T) {
	uc, _ := newUsecase(t)
	ctx := context.Background()
	u, err := uc.Register(ctx, "Bob", "bob@example.com", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ok", func(t *testing.T) {
		got, tok, exp, err := uc.Login(ctx, "BOB@example.com ", "bob-password")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID {
			t.Fatalf("logged in %s, want %s", got.ID, u.ID)
		}
		var claims biz.Claims
		parsed, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return secret, nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("test"))
		if err != nil || !parsed.Valid {
			t.Fatalf("token does not verify: %v", err)
		}
		if claims.Subject != u.ID || claims.Name != "Bob" {
			t.Fatalf("claims = %+v", claims)
		}
		if d := time.Until(exp); d < 23*time.Hour || d > 25*time.Hour {
			t.Fatalf("token expires in %v, want 24h", d)
		}
		if !claims.ExpiresAt.Time.Equal(exp.Truncate(time.Second)) {
			t.Fatalf("exp claim %v, reply %v", claims.ExpiresAt.Time, exp)
		}
	})
	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", "bob@example.com", "not-bobs"},
		{"unknown email", "nobody@example.com", "bob-password"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := uc.Login(ctx, tc.email, tc.password)
			if !v1.IsInvalidCredentials(err) || errors.FromError(err).Code != 401 {
				t.Fatalf("err = %v, want INVALID_CREDENTIALS 401", err)
			}
		})
	}
}

func TestList(t *testing.T) {
	uc, _ := newUsecase(t)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		u, err := uc.Register(ctx, fmt.Sprint("user", i), fmt.Sprintf("u%d@example.com", i), "password1")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	var got []string
	for offset := 0; offset < 6; offset += 2 {
		us, total, err := uc.List(ctx, offset, 2)
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Fatalf("total = %d, want 5", total)
		}
		for _, u := range us {
			got = append(got, u.ID)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages gave %v, want %v (oldest first, each once)", got, want)
	}
}

func TestNewUserUsecaseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens biz.TokenIssuer
		cost   int
	}{
		{"no secret", biz.TokenIssuer{TTL: time.Hour}, bcrypt.MinCost},
		{"no ttl", biz.TokenIssuer{Secret: secret}, bcrypt.MinCost},
		{"cost too low", biz.TokenIssuer{Secret: secret, TTL: time.Hour}, 1},
		{"cost too high", biz.TokenIssuer{Secret: secret, TTL: time.Hour}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := biz.NewUserUsecase(nil, tc.tokens, tc.cost, log.NewStdLogger(io.Discard)); err == nil || !strings.HasPrefix(err.Error(), "biz: ") {
				t.Fatalf("err = %v, want a biz: error", err)
			}
		})
	}
}
