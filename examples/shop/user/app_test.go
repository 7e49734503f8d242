package user_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/user"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a log sink the servers' goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startApp runs the user service on free ports with the embedded
// configuration and returns its HTTP base URL and gRPC address.
func startApp(t *testing.T, logs io.Writer) (string, string) {
	t.Helper()
	t.Setenv("BCRYPT_COST", "4")
	t.Setenv("DRAIN_DELAY", "0s")
	reg := registry.NewInMemory()
	ctx, cancel := context.WithCancel(context.Background())
	app, cleanup, err := user.NewApp(ctx, user.Options{
		Registry: reg, Logger: log.NewStdLogger(logs), DataDir: t.TempDir(),
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		cleanup()
	})
	var httpURL, grpcAddr string
	deadline := time.Now().Add(10 * time.Second)
	for httpURL == "" || grpcAddr == "" {
		if time.Now().After(deadline) {
			t.Fatal("the service did not register")
		}
		ins, _ := reg.GetService(ctx, user.Name)
		for _, in := range ins {
			for _, ep := range in.Endpoints {
				if h, ok := strings.CutPrefix(ep, "http://"); ok {
					httpURL = "http://" + h
				} else if h, ok := strings.CutPrefix(ep, "grpc://"); ok {
					grpcAddr = h
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return httpURL, grpcAddr
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func TestHTTPRegisterLogin(t *testing.T) {
	logs := &syncBuffer{}
	base, grpcAddr := startApp(t, logs)
	const password = "very-secret-pw"

	code, m := post(t, base+"/api/v1/users", `{"name":"Ann","email":"ann@example.com","password":"`+password+`"}`)
	if code != 200 {
		t.Fatalf("register: %d %v", code, m)
	}
	u := m["user"].(map[string]any)
	id, _ := u["id"].(string)
	if id == "" || u["email"] != "ann@example.com" || u["createdAt"] == nil {
		t.Fatalf("register reply %v", m)
	}
	if b, _ := json.Marshal(m); strings.Contains(string(b), password) || strings.Contains(strings.ToLower(string(b)), "password") {
		t.Fatalf("the reply carries the password: %s", b)
	}

	t.Run("email taken", func(t *testing.T) {
		code, m := post(t, base+"/api/v1/users", `{"name":"Ann2","email":"ANN@example.com","password":"other-password"}`)
		if code != 409 || m["reason"] != "EMAIL_TAKEN" {
			t.Fatalf("%d %v, want 409 EMAIL_TAKEN", code, m)
		}
	})
	t.Run("malformed body", func(t *testing.T) {
		code, m := post(t, base+"/api/v1/users", `{"name":`)
		if code != 400 || m["reason"] == nil {
			t.Fatalf("%d %v, want 400 with the error body", code, m)
		}
	})
	t.Run("login", func(t *testing.T) {
		code, m := post(t, base+"/api/v1/login", `{"email":"ann@example.com","password":"`+password+`"}`)
		if code != 200 || m["token"] == "" || m["token"] == nil {
			t.Fatalf("login: %d %v", code, m)
		}
		code, m = post(t, base+"/api/v1/login", `{"email":"ann@example.com","password":"wrong-one"}`)
		if code != 401 || m["reason"] != "INVALID_CREDENTIALS" {
			t.Fatalf("wrong password: %d %v, want 401 INVALID_CREDENTIALS", code, m)
		}
	})
	t.Run("get and list", func(t *testing.T) {
		resp, err := http.Get(base + "/api/v1/users/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET user: %d", resp.StatusCode)
		}
		resp, err = http.Get(base + "/api/v1/users?page=1&page_size=10")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Users []map[string]any `json:"users"`
			Total int              `json:"total"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || list.Total != 1 || len(list.Users) != 1 {
			t.Fatalf("list: %+v %v", list, err)
		}
		resp, err = http.Get(base + "/api/v1/users/nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("GET unknown user: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("grpc GetUser", func(t *testing.T) {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := v1.NewUserServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := c.GetUser(ctx, &v1.GetUserRequest{Id: id})
		if err != nil || r.GetUser().GetName() != "Ann" {
			t.Fatalf("GetUser = %v, %v", r, err)
		}
		_, err = c.GetUser(ctx, &v1.GetUserRequest{Id: "nope"})
		if !v1.IsUserNotFound(err) || errors.FromError(err).Code != 404 {
			t.Fatalf("GetUser(nope) = %v, want USER_NOT_FOUND", err)
		}
	})
	if strings.Contains(logs.String(), password) {
		t.Fatalf("the logs carry the password:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "/api.user.v1.UserService/Login") {
		t.Fatalf("the requests were not logged:\n%.2000s", logs)
	}
}

func TestNewAppNeedsRegistry(t *testing.T) {
	if _, _, err := user.NewApp(context.Background(), user.Options{}); err == nil || !strings.HasPrefix(err.Error(), "user: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	for _, r := range []interface{ Redact() string }{
		&v1.CreateUserRequest{Name: "a", Email: "a@b.c", Password: "hunter2hunter2"},
		&v1.LoginRequest{Email: "a@b.c", Password: "hunter2hunter2"},
	} {
		if s := r.Redact(); strings.Contains(s, "hunter2") || !strings.Contains(s, "a@b.c") {
			t.Errorf("Redact() = %q", s)
		}
	}
}
