// Package user is the shop's user service: registration with bcrypt
// password hashes, login issuing HS256 JWTs, and user look-ups, over gRPC
// and HTTP (the google.api.http rules of api/user/v1/user.proto).
//
// NewApp builds the service for a process that runs it beside others (the
// one-process shop, tests); cmd/user runs it alone:
//
//	go run ./examples/shop/user/cmd/user -conf examples/shop/user/configs -registry memory
package user

import (
	"context"
	_ "embed"
	"errors"
	"os"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
	userconf "github.com/zelos-go/zelos/examples/shop/user/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/user/internal/data"
	"github.com/zelos-go/zelos/examples/shop/user/internal/server"
	"github.com/zelos-go/zelos/examples/shop/user/internal/service"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// Name is the service's name in the registry.
const Name = "user.service"

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
	// Logger receives the logs; nil means stdout with service=user.
	Logger log.Logger
	// DataDir, when set, replaces data.dir: the SQLite file is
	// <DataDir>/user.db.
	DataDir string
	// HTTPAddr, GRPCAddr and AdminAddr, when set, replace the configured
	// addresses; tests pass "127.0.0.1:0".
	HTTPAddr, GRPCAddr, AdminAddr string
	// Config is the configuration; nil means DefaultConfig.
	Config config.Config
}

// NewApp builds the user service's App. ctx is its parent: cancelling it
// stops the App. The returned function closes the database and the
// telemetry; call it after Run returned.
func NewApp(ctx context.Context, o Options) (*zelos.App, func(), error) {
	if o.Registry == nil {
		return nil, nil, errors.New("user: Options.Registry is required")
	}
	if o.Logger == nil {
		o.Logger = runner.Logger(os.Stdout, "user")
	}
	var closers kit.Closers
	fail := func(err error) (*zelos.App, func(), error) {
		closers.Run()
		return nil, nil, err
	}
	c := o.Config
	if c == nil {
		var err error
		if c, err = conf.Load(DefaultConfig, "", o.Logger); err != nil {
			return nil, nil, err
		}
		closers.Add(func() { _ = c.Close() })
	}
	var bc userconf.Bootstrap
	if err := conf.Scan(c, &bc); err != nil {
		return fail(err)
	}
	if o.DataDir != "" {
		bc.Data.Dir = o.DataDir
	}
	ttl, err := conf.Duration("auth.token_ttl", bc.Auth.TokenTTL)
	if err != nil {
		return fail(err)
	}
	d, closeData, err := data.NewData(ctx, bc.Data)
	if err != nil {
		return fail(err)
	}
	closers.Add(closeData)
	uc, err := biz.NewUserUsecase(data.NewUserRepo(d),
		biz.TokenIssuer{Secret: []byte(bc.Auth.JWTSecret), Issuer: bc.Auth.Issuer, TTL: ttl},
		bc.Auth.BcryptCost, o.Logger)
	if err != nil {
		return fail(err)
	}
	svc, err := kit.New(ctx, kit.Options{
		Server:       bc.Server,
		HTTPAddr:     o.HTTPAddr,
		GRPCAddr:     o.GRPCAddr,
		AdminAddr:    o.AdminAddr,
		Logger:       o.Logger,
		Registrar:    o.Registry,
		HealthChecks: []health.Check{{Name: "database", Func: d.Ping}},
	})
	if err != nil {
		return fail(err)
	}
	closers.Add(svc.Close)
	server.Register(svc, service.NewUserService(uc))
	return svc.App(), closers.Run, nil
}
