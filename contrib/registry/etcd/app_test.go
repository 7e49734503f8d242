package etcd_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/registry"
)

// tcpServer is the smallest transport.Server and transport.Endpointer: it
// accepts and closes connections on 127.0.0.1.
type tcpServer struct {
	mu sync.Mutex
	ln net.Listener
}

func (s *tcpServer) Endpoint() (*url.URL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.ln = ln
	}
	return &url.URL{Scheme: "tcp", Host: s.ln.Addr().String()}, nil
}

func (s *tcpServer) Start(context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil // closed by Stop
		}
		c.Close()
	}
}

func (s *tcpServer) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln.Close()
}

// serves reports whether the App's server accepts connections.
func serves(app *zelos.App) bool {
	eps := app.Endpoint()
	if len(eps) == 0 {
		return false
	}
	u, err := url.Parse(eps[0])
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (l *testLogger) countPrefix(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// startApp runs an App registering with etcd through its own client, and
// returns it with the channel of Run's result.
func startApp(t *testing.T, s *server, logger *testLogger, opts ...zelos.Option) (*zelos.App, chan error) {
	t.Helper()
	opts = append([]zelos.Option{
		zelos.Name("outage"), zelos.ID("outage-1"), zelos.Signal(), zelos.Logger(logger),
		zelos.Server(&tcpServer{}),
		zelos.Registrar(etcd.New(newClient(t, s), etcd.RegisterTTL(ttl))),
	}, opts...)
	app := zelos.New(opts...)
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	t.Cleanup(func() {
		_ = app.Stop()
		select {
		case <-done:
		case <-time.After(wait):
		}
	})
	return app, done
}

// stopWithin stops app and fails the test unless Run returns within d.
func stopWithin(t *testing.T, app *zelos.App, done chan error, d time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	_ = app.Stop()
	select {
	case err := <-done:
		done <- err // for the cleanup
		return time.Since(start), err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v of Stop", d)
		return 0, nil
	}
}

// TestAppStartedWhileEtcdDown: an App started while etcd is down serves at
// once, keeps trying to register, logging each try, and becomes
// discoverable once etcd is up.
func TestAppStartedWhileEtcdDown(t *testing.T) {
	s := newServer(t) // down
	logger := &testLogger{}
	// Attempts of 1s, so that a few fail before etcd is started.
	app, done := startApp(t, s, logger, zelos.RegistrarTimeout(time.Second))
	waitFor(t, "the App to serve while etcd is down", func() bool { return serves(app) })
	waitFor(t, "two failed registrations to be logged", func() bool {
		return logger.countPrefix("app register failed") >= 2
	})

	s.start(t)
	disco := etcd.New(newClient(t, s))
	waitFor(t, "the instance to be discoverable", func() bool {
		list, err := disco.GetService(context.Background(), "outage")
		return err == nil && len(list) == 1 && list[0].ID == "outage-1"
	})
	if logger.count("app registered") != 1 {
		t.Errorf("the registration once etcd was up was not logged: %v", logger.msgs)
	}
	took, err := stopWithin(t, app, done, wait)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	t.Logf("stopped in %v", took)
	waitFor(t, "the instance to be deregistered", func() bool {
		list, err := disco.GetService(context.Background(), "outage")
		return err == nil && len(list) == 0
	})
}

// TestAppStopDuringEtcdOutage: stopping does not wait for a registry that
// is down, whether the instance was never registered (the registration in
// flight is abandoned, nothing is deregistered) or was registered before
// etcd went down (deregistration is bounded).
func TestAppStopDuringEtcdOutage(t *testing.T) {
	t.Run("never registered", func(t *testing.T) {
		s := newServer(t) // down
		logger := &testLogger{}
		// The default RegistrarTimeout, 10s: today's stop waited it out.
		app, done := startApp(t, s, logger)
		waitFor(t, "the App to serve while etcd is down", func() bool { return serves(app) })
		took, err := stopWithin(t, app, done, 5*time.Second)
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
		t.Logf("stopped in %v", took)
		if logger.count("app not deregistered: it was never registered") != 1 {
			t.Errorf("want the skipped deregistration logged: %v", logger.msgs)
		}
	})
	t.Run("registered, then etcd down", func(t *testing.T) {
		s := startServer(t)
		logger := &testLogger{}
		app, done := startApp(t, s, logger, zelos.DeregisterTimeout(time.Second))
		disco := etcd.New(newClient(t, s))
		waitFor(t, "the instance to be discoverable", func() bool {
			list, err := disco.GetService(context.Background(), "outage")
			return err == nil && len(list) == 1
		})
		s.stop()
		took, err := stopWithin(t, app, done, 8*time.Second)
		if err == nil || !strings.Contains(err.Error(), "deregister") {
			t.Errorf("Run = %v, want the failed deregistration", err)
		}
		t.Logf("stopped in %v", took)
	})
}

var _ registry.Registrar = (*etcd.Registry)(nil)
