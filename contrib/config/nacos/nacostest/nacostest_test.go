package nacostest_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/zelos-go/zelos/contrib/config/nacos/nacostest"
)

// These tests drive the fake with the SDK itself, through the calls the
// config source and the registry do not make (publish, remove, batch,
// service list, dropped connections).

var dir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "nacostest")
	if err != nil {
		panic(err)
	}
	dir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

func params(t *testing.T, srv *nacostest.Server) vo.NacosClientParam {
	cache, err := os.MkdirTemp(dir, "cache")
	if err != nil {
		t.Fatal(err)
	}
	return vo.NacosClientParam{
		ClientConfig: &constant.ClientConfig{
			TimeoutMs: 3000, NotLoadCacheAtStart: true, UpdateCacheWhenEmpty: true, DisableUseSnapShot: true,
			CacheDir: cache, LogDir: dir, LogLevel: "error",
		},
		ServerConfigs: []constant.ServerConfig{srv.ServerConfig()},
	}
}

func newServer(t *testing.T) *nacostest.Server {
	srv, err := nacostest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func configClient(t *testing.T, srv *nacostest.Server) config_client.IConfigClient {
	c, err := clients.NewConfigClient(params(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseClient)
	return c
}

func namingClient(t *testing.T, srv *nacostest.Server) naming_client.INamingClient {
	c, err := clients.NewNamingClient(params(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseClient)
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConfigThroughTheSDK(t *testing.T) {
	srv := newServer(t)
	c := configClient(t, srv)
	p := vo.ConfigParam{DataId: "sdk.yaml", Group: "DEFAULT_GROUP", Content: "a: 1\n"}
	if ok, err := c.PublishConfig(p); !ok || err != nil {
		t.Fatalf("PublishConfig = %v, %v", ok, err)
	}
	if got, ok := srv.Config("", "DEFAULT_GROUP", "sdk.yaml"); !ok || got != "a: 1\n" {
		t.Errorf("the fake holds %q, %v", got, ok)
	}
	got, err := c.GetConfig(vo.ConfigParam{DataId: "sdk.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || got != "a: 1\n" {
		t.Errorf("GetConfig = %q, %v", got, err)
	}
	if ok, err := c.PublishConfig(vo.ConfigParam{DataId: "sdk.yaml", Group: "DEFAULT_GROUP", Content: "a: 2\n", CasMd5: "stale"}); ok || err == nil {
		t.Errorf("a publish with a stale casMd5 = %v, %v; want a refusal", ok, err)
	}
	if ok, err := c.DeleteConfig(vo.ConfigParam{DataId: "sdk.yaml", Group: "DEFAULT_GROUP"}); !ok || err != nil {
		t.Fatalf("DeleteConfig = %v, %v", ok, err)
	}
	if _, ok := srv.Config("", "DEFAULT_GROUP", "sdk.yaml"); ok {
		t.Error("the fake still holds a deleted configuration")
	}
	if srv.Requests("ConfigPublishRequest") < 2 || srv.Requests("ConfigRemoveRequest") != 1 {
		t.Errorf("requests: publish %d, remove %d", srv.Requests("ConfigPublishRequest"), srv.Requests("ConfigRemoveRequest"))
	}
}

func TestNamingThroughTheSDK(t *testing.T) {
	srv := newServer(t)
	c := namingClient(t, srv)
	batch := vo.BatchRegisterInstanceParam{ServiceName: "svc", GroupName: "DEFAULT_GROUP", Instances: []vo.RegisterInstanceParam{
		{Ip: "127.0.0.1", Port: 1001, Weight: 1, Enable: true, Healthy: true, Ephemeral: true},
		{Ip: "127.0.0.1", Port: 1002, Weight: 1, Enable: true, Healthy: true, Ephemeral: true, ClusterName: "c2"},
	}}
	if ok, err := c.BatchRegisterInstance(batch); !ok || err != nil {
		t.Fatalf("BatchRegisterInstance = %v, %v", ok, err)
	}
	if n := len(srv.Instances("public", "DEFAULT_GROUP", "svc")); n != 2 {
		t.Fatalf("the fake holds %d instances, want 2", n)
	}
	list, err := c.GetAllServicesInfo(vo.GetAllServiceInfoParam{PageNo: 1, PageSize: 10})
	if err != nil || list.Count != 1 || len(list.Doms) != 1 || list.Doms[0] != "svc" {
		t.Errorf("GetAllServicesInfo = %+v, %v", list, err)
	}
	got, err := c.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: "svc", Clusters: []string{"c2"}})
	if err != nil || len(got) != 1 || got[0].Port != 1002 {
		t.Errorf("SelectAllInstances of cluster c2 = %+v, %v", got, err)
	}
	var raw map[string]any
	_ = json.Unmarshal(srv.Instances("public", "DEFAULT_GROUP", "svc")[0], &raw)
	if !strings.HasPrefix(raw["instanceId"].(string), "127.0.0.1#") || raw["serviceName"] != "DEFAULT_GROUP@@svc" {
		t.Errorf("instance as Nacos fills it: %v", raw)
	}

	t.Run("a register replaces the connection's publish", func(t *testing.T) {
		if ok, err := c.RegisterInstance(vo.RegisterInstanceParam{
			ServiceName: "svc", Ip: "127.0.0.1", Port: 1003, Weight: 1, Enable: true, Healthy: true, Ephemeral: true,
		}); !ok || err != nil {
			t.Fatalf("RegisterInstance = %v, %v", ok, err)
		}
		if n := len(srv.Instances("public", "DEFAULT_GROUP", "svc")); n != 1 {
			t.Errorf("the fake holds %d instances, want 1", n)
		}
	})
	t.Run("a dropped connection takes its instances", func(t *testing.T) {
		if raceEnabled {
			t.Skip("the SDK (v2.3.2) has data races in its reconnection, which -race reports")
		}
		srv.DropConnections()
		// The SDK connects again and publishes again (its redo).
		eventually(t, "the instance back", func() bool { return len(srv.Instances("public", "DEFAULT_GROUP", "svc")) == 1 })
		eventually(t, "a connection set up", func() bool { return srv.Connections() > 0 })
	})
	t.Run("deregister", func(t *testing.T) {
		if ok, err := c.DeregisterInstance(vo.DeregisterInstanceParam{ServiceName: "svc", Ip: "127.0.0.1", Port: 1003, Ephemeral: true}); !ok || err != nil {
			t.Fatalf("DeregisterInstance = %v, %v", ok, err)
		}
		if n := len(srv.Instances("public", "DEFAULT_GROUP", "svc")); n != 0 {
			t.Errorf("the fake holds %d instances, want 0", n)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		if ok, _ := c.RegisterInstance(vo.RegisterInstanceParam{ServiceName: "svc", Weight: 1, Ephemeral: true}); ok {
			t.Error("an instance without an address was accepted")
		}
	})
}

func TestServerConfig(t *testing.T) {
	srv := newServer(t)
	sc := srv.ServerConfig()
	if sc.IpAddr != "127.0.0.1" || sc.Port+constant.RpcPortOffset != srv.GrpcPort() || !strings.HasSuffix(srv.GrpcAddr(), ":"+strings.TrimPrefix(srv.GrpcAddr(), "127.0.0.1:")) {
		t.Errorf("ServerConfig = %+v for %s", sc, srv.GrpcAddr())
	}
}
