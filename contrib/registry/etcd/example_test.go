package etcd_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/registry"
)

func Example() {
	// A throwaway etcd for the example; use your cluster's endpoints.
	endpoint, stop := exampleEtcd()
	defer stop()

	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx := context.Background()
	r := etcd.New(client, etcd.Namespace("/prod"), etcd.RegisterTTL(10*time.Second))
	svc := &registry.ServiceInstance{
		ID:        "greeter-1",
		Name:      "greeter",
		Version:   "v1.0.0",
		Endpoints: []string{"grpc://127.0.0.1:9000"},
	}
	if err := r.Register(ctx, svc); err != nil {
		panic(err)
	}

	w, err := r.Watch(ctx, "greeter")
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	list, _ := w.Next() // the current instances, at once
	fmt.Println(list[0].ID, list[0].Endpoints)

	if err := r.Deregister(ctx, svc); err != nil {
		panic(err)
	}
	list, _ = w.Next() // blocks until the instances change
	fmt.Println(len(list), "instances")
	// Output:
	// greeter-1 [grpc://127.0.0.1:9000]
	// 0 instances
}

// exampleEtcd starts an embedded etcd on loopback ports.
func exampleEtcd() (endpoint string, stop func()) {
	port := func() url.URL {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer l.Close()
		return url.URL{Scheme: "http", Host: l.Addr().String()}
	}
	dir, err := os.MkdirTemp("", "etcd-example")
	if err != nil {
		panic(err)
	}
	cfg := embed.NewConfig()
	cfg.Dir, cfg.LogLevel = dir, "fatal"
	cu, pu := port(), port()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		panic(err)
	}
	<-e.Server.ReadyNotify()
	return cu.String(), func() {
		e.Close()
		os.RemoveAll(dir)
	}
}
