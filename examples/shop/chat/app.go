// Package chat is the shop's chat service: the tutorial's bidirectional
// SendMessage stream, extended to rooms, where every member of a room
// receives each message. Served over gRPC (SendMessage, Subscribe,
// GetRoom), and over HTTP to browsers: a WebSocket at
// GET /api/v1/chat?room=ID&user_id=ID (JSON text frames {content} in,
// MessageReply out) and Server-Sent Events at
// GET /api/v1/chat/events?room=ID, read-only.
//
// Rooms live in one process: members connected to two instances are in
// two rooms. Run one instance, or put a broker between them.
//
// NewApp builds the service for a process that runs it beside others (the
// one-process shop, tests); cmd/chat runs it alone:
//
//	go run ./examples/shop/chat/cmd/chat -conf examples/shop/chat/configs -registry memory
package chat

import (
	"context"
	_ "embed"
	"errors"
	"os"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	chatconf "github.com/zelos-go/zelos/examples/shop/chat/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/server"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/service"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// Name is the service's name in the registry.
const Name = "chat.service"

// DefaultConfig is configs/config.yaml, the configuration the service runs
// on when given none.
//
//go:embed configs/config.yaml
var DefaultConfig []byte

// Options configures NewApp.
type Options struct {
	// Registry is where the service registers. Required.
	Registry interface {
		registry.Registrar
		registry.Discovery
	}
	// Logger receives the logs; nil means stdout with service=chat.
	Logger log.Logger
	// DataDir is unused: the chat keeps no data. It is here so that every
	// shop service takes the same Options.
	DataDir string
	// HTTPAddr, GRPCAddr and AdminAddr, when set, replace the configured
	// addresses; tests pass "127.0.0.1:0".
	HTTPAddr, GRPCAddr, AdminAddr string
	// Config is the configuration; nil means DefaultConfig.
	Config config.Config
}

// NewApp builds the chat service's App. ctx is its parent: cancelling it
// stops the App. The returned function releases the telemetry; call it
// after Run returned.
func NewApp(ctx context.Context, o Options) (*zelos.App, func(), error) {
	if o.Registry == nil {
		return nil, nil, errors.New("chat: Options.Registry is required")
	}
	if o.Logger == nil {
		o.Logger = runner.Logger(os.Stdout, "chat")
	}
	var cleanup []func()
	release := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		cleanup = nil
	}
	c := o.Config
	if c == nil {
		var err error
		if c, err = conf.Load(DefaultConfig, "", o.Logger); err != nil {
			return nil, nil, err
		}
		cleanup = append(cleanup, func() { _ = c.Close() })
	}
	var bc chatconf.Bootstrap
	if err := conf.Scan(c, &bc); err != nil {
		release()
		return nil, nil, err
	}
	var hubOpts []biz.Option
	if bc.Chat.Buffer > 0 {
		hubOpts = append(hubOpts, biz.Buffer(bc.Chat.Buffer))
	}
	if bc.Chat.MaxMembers > 0 {
		hubOpts = append(hubOpts, biz.MaxMembers(bc.Chat.MaxMembers))
	}
	hub := biz.NewHub(hubOpts...)
	svc, err := kit.New(ctx, kit.Options{
		Server:    bc.Server,
		HTTPAddr:  o.HTTPAddr,
		GRPCAddr:  o.GRPCAddr,
		AdminAddr: o.AdminAddr,
		Logger:    o.Logger,
		Registrar: o.Registry,
	})
	if err != nil {
		release()
		return nil, nil, err
	}
	cleanup = append(cleanup, svc.Close)
	server.Register(svc, service.NewChatService(hub, o.Logger))
	return svc.App(zelos.Server(server.HubCloser{Hub: hub})), release, nil
}
