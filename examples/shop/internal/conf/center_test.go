package conf

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCenterEtcd layers a key of a real (embedded) etcd over the embedded
// defaults, and follows its change.
func TestCenterEtcd(t *testing.T) {
	cu := url.URL{Scheme: "http", Host: freeAddr(t)}
	pu := url.URL{Scheme: "http", Host: freeAddr(t)}
	cfg := embed.NewConfig()
	cfg.Name = "conf-test"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	<-e.Server.ReadyNotify()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.Host}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	if _, err := cli.Put(ctx, "/shop/user.yaml", "greeting: from etcd\n"); err != nil {
		t.Fatal(err)
	}
	c, closeCenter, err := LoadCenter([]byte("greeting: embedded\nname: user\n"), "", "etcd://"+cu.Host+"/shop/user.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeCenter()
	defer c.Close()
	if g, _ := c.Value("greeting").String(); g != "from etcd" {
		t.Fatalf("greeting = %q", g)
	}
	if n, _ := c.Value("name").String(); n != "user" {
		t.Fatalf("the defaults under the center are lost: name = %q", n)
	}
	if _, err := cli.Put(ctx, "/shop/user.yaml", "greeting: changed\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if g, _ := c.Value("greeting").String(); g == "changed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not followed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCenterErrors(t *testing.T) {
	for _, u := range []string{"etcd://h:2379", "zk://h/k", "nothing"} {
		if _, _, err := Center(u); err == nil || !strings.HasPrefix(err.Error(), "conf: config center") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
