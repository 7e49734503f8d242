package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/apipb"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/env"
	"github.com/zelos-go/zelos/config/file"
	"github.com/zelos-go/zelos/log"
)

// static is a Source with fixed KeyValues that never changes.
type static []*config.KeyValue

func (s static) Load() ([]*config.KeyValue, error) { return s, nil }
func (s static) Watch() (config.Watcher, error)    { return nil, nil }

func yamlKV(text string) *config.KeyValue {
	return &config.KeyValue{Key: "test.yaml", Value: []byte(text), Format: "yaml"}
}

func load(t *testing.T, opts ...config.Option) config.Config {
	t.Helper()
	c := config.New(append([]config.Option{config.WithLogger(&recorder{})}, opts...)...)
	t.Cleanup(func() { c.Close() })
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	return c
}

func str(t *testing.T, c config.Config, key string) string {
	t.Helper()
	s, err := c.Value(key).String()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMergeOrder(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	over := filepath.Join(dir, "over.json")
	writeFile(t, base, `
http: {addr: ":80", timeout: 1s}
data:
  database: {driver: mysql, source: "root@/db"}
  tags: [a, b]
`)
	writeFile(t, over, `{"http": {"addr": ":8080"}, "data": {"database": {"source": "prod@/db"}, "tags": ["c"]}}`)
	c := load(t, config.WithSource(
		file.NewSource(base),
		file.NewSource(over),
		static{{Key: "data.database.driver", Value: []byte("postgres")}},
	))
	for key, want := range map[string]string{
		"http.addr":            ":8080",    // overridden
		"http.timeout":         "1s",       // kept: maps merge deeply
		"data.database.source": "prod@/db", // overridden two levels down
		"data.database.driver": "postgres", // flat key from the last source
		"data.tags.0":          "c",        // lists are replaced, not merged
	} {
		if got := str(t, c, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if tags, _ := c.Value("data.tags").Slice(); len(tags) != 1 {
		t.Errorf("data.tags has %d elements, want 1", len(tags))
	}
}

func TestEnvOverride(t *testing.T) {
	t.Setenv("ZTEST_HTTP_ADDR", ":9090")
	t.Setenv("ZTEST_DATA_PAGE_SIZE", "50")        // key with an underscore
	t.Setenv("ZTEST_DATA_DATABASE_ENABLED", "no") // not a bool: stays a string
	t.Setenv("ZTEST_DATA_DATABASE_SOURCE", "env@/db")
	t.Setenv("ZTEST_SERVERS_1_PORT", "81")
	t.Setenv("ZTEST_NEW_KEY", "fresh")
	t.Setenv("ZTESTX_HTTP_ADDR", "ignored") // different prefix
	c := load(t, config.WithSource(
		static{yamlKV(`
http: {addr: ":80"}
data:
  page_size: 10
  database: {source: "x", enabled: true}
servers: [{port: 1}, {port: 2}]
`)},
		env.NewSource("ZTEST"),
	))
	if got := str(t, c, "http.addr"); got != ":9090" {
		t.Errorf("http.addr = %q", got)
	}
	if got := str(t, c, "data.database.source"); got != "env@/db" {
		t.Errorf("data.database.source = %q", got)
	}
	if got := c.Value("data.page_size").Load(); got != int64(50) {
		t.Errorf("data.page_size = %#v, want int64(50)", got)
	}
	if _, err := c.Value("data.page").String(); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("data.page was created: %v", err)
	}
	if got := c.Value("data.database.enabled").Load(); got != "no" {
		t.Errorf("data.database.enabled = %#v", got)
	}
	if got := c.Value("servers.1.port").Load(); got != int64(81) {
		t.Errorf("servers.1.port = %#v", got)
	}
	if got := str(t, c, "new.key"); got != "fresh" {
		t.Errorf("new.key = %q", got)
	}
	var s struct {
		Data struct {
			PageSize int `json:"page_size"`
		} `json:"data"`
	}
	if err := c.Scan(&s); err != nil || s.Data.PageSize != 50 {
		t.Errorf("Scan: %v, page_size %d", err, s.Data.PageSize)
	}
}

func TestEnvOverridePrefixWithUnderscore(t *testing.T) {
	t.Setenv("ZTEST_Http_Addr", ":7070") // any case
	c := load(t, config.WithSource(static{yamlKV(`http: {addr: ":80"}`)}, env.NewSource("ZTEST_")))
	if got := str(t, c, "http.addr"); got != ":7070" {
		t.Errorf("http.addr = %q", got)
	}
}

func TestPlaceholdersInConfig(t *testing.T) {
	t.Setenv("ZTEST_PASSWORD", "s3cret")
	c := load(t, config.WithSource(static{yamlKV(`
db:
  host: ${DB_HOST_UNSET:localhost}
  port: ${DB_PORT_UNSET:5432}
  dsn: "postgres://${db.user}:${ZTEST_PASSWORD}@${db.host}:${db.port}/app"
  user: admin
`)}))
	if got := str(t, c, "db.dsn"); got != "postgres://admin:s3cret@localhost:5432/app" {
		t.Errorf("db.dsn = %q", got)
	}
	if got := c.Value("db.port").Load(); got != int64(5432) {
		t.Errorf("db.port = %#v, want int64", got)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for name, tc := range map[string]struct {
		src  config.Source
		want []string
	}{
		"bad yaml":    {static{yamlKV("a: [1")}, []string{`"test.yaml"`, "yaml"}},
		"bad json":    {static{{Key: "x.json", Value: []byte("{"), Format: "json"}}, []string{`"x.json"`, "json"}},
		"format":      {static{{Key: "x.ini", Value: []byte("a=1"), Format: "ini"}}, []string{`unsupported format "ini"`}},
		"placeholder": {static{yamlKV("a: {b: '${NOPE_UNSET}'}")}, []string{`key "a.b"`, `"NOPE_UNSET"`}},
		"no file":     {file.NewSource(missing), []string{"config: load source file " + missing + ": file: " + missing + " does not exist"}},
		// yaml.v3 panics on this document; it must be an error instead.
		"yaml panic": {static{yamlKV("{{},<<}")}, []string{`"test.yaml"`, "yaml"}},
	} {
		t.Run(name, func(t *testing.T) {
			c := config.New(config.WithSource(tc.src))
			defer c.Close()
			err := c.Load()
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if strings.Contains(err.Error(), "watch") {
				t.Errorf("error %q is about watching, not loading", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValue(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV(`
b: true
bs: "false"
i: 42
f: 1.5
fi: 3.0
s: "7"
d: 1m30s
dn: 1000
l: [1, x]
m: {k: v}
`)}))
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	b, err := c.Value("b").Bool()
	check("b", b, true, err)
	b, err = c.Value("bs").Bool()
	check("bs", b, false, err)
	i, err := c.Value("i").Int()
	check("i", i, int64(42), err)
	i, err = c.Value("fi").Int()
	check("fi", i, int64(3), err)
	i, err = c.Value("s").Int()
	check("s", i, int64(7), err)
	f, err := c.Value("f").Float()
	check("f", f, 1.5, err)
	f, err = c.Value("i").Float()
	check("i as float", f, 42.0, err)
	s, err := c.Value("i").String()
	check("i as string", s, "42", err)
	d, err := c.Value("d").Duration()
	check("d", d, 90*time.Second, err)
	d, err = c.Value("dn").Duration()
	check("dn", d, time.Microsecond, err)
	l, err := c.Value("l").Slice()
	if err != nil || len(l) != 2 {
		t.Fatalf("l: %v %v", l, err)
	}
	s, err = l[1].String()
	check("l.1", s, "x", err)
	m, err := c.Value("m").Map()
	if err != nil {
		t.Fatal(err)
	}
	s, err = m["k"].String()
	check("m.k", s, "v", err)

	// Load returns a copy: changing it does not change the Config.
	c.Value("m").Load().(map[string]any)["k"] = "changed"
	check("m.k after Load", str(t, c, "m.k"), "v", nil)

	for _, tc := range []struct {
		key  string
		call func(config.Value) error
		want string
	}{
		{"x.y", func(v config.Value) error { _, err := v.Int(); return err }, `config: key "x.y" not found`},
		{"i.j", func(v config.Value) error { _, err := v.String(); return err }, `config: key "i.j" not found`},
		{"x", func(v config.Value) error { return v.Scan(new(int)) }, `config: key "x" not found`},
		{"f", func(v config.Value) error { _, err := v.Int(); return err }, `config: key "f": cannot convert a float to int`},
		{"d", func(v config.Value) error { _, err := v.Bool(); return err }, `config: key "d": cannot convert a string to bool`},
		{"m", func(v config.Value) error { _, err := v.String(); return err }, `config: key "m": cannot convert a map to string`},
		{"m", func(v config.Value) error { _, err := v.Slice(); return err }, `config: key "m": cannot convert a map to list`},
		{"l", func(v config.Value) error { _, err := v.Map(); return err }, `config: key "l": cannot convert a list to map`},
		{"b", func(v config.Value) error { _, err := v.Duration(); return err }, `config: key "b": cannot convert a bool to duration`},
		{"l", func(v config.Value) error { _, err := v.Float(); return err }, `config: key "l": cannot convert a list to float`},
	} {
		if err := tc.call(c.Value(tc.key)); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.key, err, tc.want)
		}
	}
	if c.Value("x.y").Load() != nil {
		t.Error("Load of a missing key is not nil")
	}
}

func TestScanStruct(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV(`
server:
  http: {addr: ":8000", timeout: 1s}
data:
  page_size: 20
  hosts: [a, b]
`)}))
	type jsonConf struct {
		Server struct {
			HTTP struct {
				Addr string `json:"addr"`
			} `json:"http"`
		} `json:"server"`
		Data struct {
			PageSize int      `json:"page_size"`
			Hosts    []string `json:"hosts"`
		} `json:"data"`
	}
	var jc jsonConf
	if err := c.Scan(&jc); err != nil {
		t.Fatal(err)
	}
	if jc.Server.HTTP.Addr != ":8000" || jc.Data.PageSize != 20 || len(jc.Data.Hosts) != 2 {
		t.Errorf("json scan: %+v", jc)
	}

	// Structs tagged for YAML decode through YAML, which parses durations.
	type yamlHTTP struct {
		Addr    string        `yaml:"addr"`
		Timeout time.Duration `yaml:"timeout"`
	}
	var yh yamlHTTP
	if err := c.Value("server.http").Scan(&yh); err != nil {
		t.Fatal(err)
	}
	if yh.Addr != ":8000" || yh.Timeout != time.Second {
		t.Errorf("yaml scan: %+v", yh)
	}

	var n int
	if err := c.Value("data.page_size").Scan(&n); err != nil || n != 20 {
		t.Errorf("scan int: %d, %v", n, err)
	}
	var wrong struct {
		Data int `json:"data"`
	}
	if err := c.Scan(&wrong); err == nil || !strings.Contains(err.Error(), "config: scan into") {
		t.Errorf("scan of a map into an int: %v", err)
	}
}

func TestScanProto(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV(`
api:
  name: greeter.v1.Greeter
  version: v1
  unknown_field: ignored
  methods:
    - name: SayHello
      request_type_url: type.googleapis.com/HelloRequest   # proto name
      responseTypeUrl: type.googleapis.com/HelloReply      # JSON name
      responseStreaming: true
`)}))
	var api apipb.Api
	if err := c.Value("api").Scan(&api); err != nil {
		t.Fatal(err)
	}
	want := &apipb.Api{
		Name:    "greeter.v1.Greeter",
		Version: "v1",
		Methods: []*apipb.Method{{
			Name:              "SayHello",
			RequestTypeUrl:    "type.googleapis.com/HelloRequest",
			ResponseTypeUrl:   "type.googleapis.com/HelloReply",
			ResponseStreaming: true,
		}},
	}
	if !proto.Equal(&api, want) {
		t.Errorf("got %v, want %v", &api, want)
	}
	if err := c.Value("api.methods").Scan(&api); err == nil {
		t.Error("scanning a list into a message succeeded")
	}
}

// TestWatchOnlyChangedKeys also measures the reload latency: from the
// rename of a new file into place to the Observer call.
func TestWatchOnlyChangedKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "a: {x: 1}\nb: {y: 1}\n")
	logs := &recorder{}
	c := config.New(config.WithSource(file.NewSource(path)), config.WithLogger(logs))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	var aCalls atomic.Int32
	changed := make(chan int64, 10)
	if err := c.Watch("a", func(string, config.Value) { aCalls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Watch("b", func(key string, v config.Value) {
		y, _ := c.Value("b.y").Int()
		got, _ := v.Map()
		if key != "b" || got["y"] == nil {
			t.Errorf("observer got %q %v", key, got)
		}
		changed <- y
	}); err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	for y := 2; y <= 4; y++ {
		start := time.Now()
		replaceFile(t, path, "a: {x: 1}\nb: {y: "+string(rune('0'+y))+"}\n")
		select {
		case got := <-changed:
			lat := time.Since(start)
			worst = max(worst, lat)
			t.Logf("reload latency: %v", lat)
			if got != int64(y) {
				t.Errorf("b.y = %d, want %d", got, y)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("observer of b not called for write %d", y)
		}
	}
	t.Logf("worst reload latency: %v (target 200ms)", worst)
	if n := aCalls.Load(); n != 0 {
		t.Errorf("observer of unchanged key a called %d times", n)
	}
}

func TestReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "v: 1\n")
	logs := &recorder{}
	c := config.New(config.WithSource(file.NewSource(path)), config.WithLogger(logs))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 10)
	if err := c.Watch("v", func(_ string, v config.Value) { i, _ := v.Int(); got <- i }); err != nil {
		t.Fatal(err)
	}

	replaceFile(t, path, "v: [2\n")
	eventually(t, "reload error log", func() bool {
		_, ok := logs.find(log.LevelError, path, "yaml:")
		return ok
	})
	if v, _ := c.Value("v").Int(); v != 1 {
		t.Errorf("after bad YAML v = %d, want last good 1", v)
	}
	// yaml.v3 panics on this document: the reload goroutine must survive.
	replaceFile(t, path, "{{},<<}\n")
	eventually(t, "reload error log for a document yaml.v3 panics on", func() bool {
		_, ok := logs.find(log.LevelError, path, "unhashable")
		return ok
	})
	replaceFile(t, path, "v: ${UNSET_ZTEST_VAR}\n")
	eventually(t, "resolve error log", func() bool {
		_, ok := logs.find(log.LevelError, path, "UNSET_ZTEST_VAR")
		return ok
	})

	replaceFile(t, path, "v: 3\n")
	select {
	case v := <-got:
		if v != 3 {
			t.Errorf("observer got %d, want 3", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("good write after a bad one not picked up")
	}
	if len(got) != 0 {
		t.Errorf("observer called for failed reloads")
	}
}

func TestObserverPanicIsRecovered(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "v: 1\n")
	logs := &recorder{}
	c := config.New(config.WithSource(file.NewSource(path)), config.WithLogger(logs))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []int64
	c.Watch("v", func(string, config.Value) { panic("boom") })
	c.Watch("v", func(_ string, v config.Value) {
		i, _ := v.Int()
		mu.Lock()
		seen = append(seen, i)
		mu.Unlock()
	})
	for _, v := range []string{"2", "3"} {
		replaceFile(t, path, "v: "+v+"\n")
		eventually(t, "v = "+v, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) > 0 && seen[len(seen)-1] == int64(v[0]-'0')
		})
	}
	if _, ok := logs.find(log.LevelError, "panic", "boom"); !ok {
		t.Error("panic not logged")
	}
}

func TestObserverSeesRemovedKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "a: 1\nb: 1\n")
	c := load(t, config.WithSource(file.NewSource(path)))
	errs := make(chan error, 1)
	c.Watch("a", func(_ string, v config.Value) { _, err := v.Int(); errs <- err })
	replaceFile(t, path, "b: 2\n")
	select {
	case err := <-errs:
		if !errors.Is(err, config.ErrNotFound) {
			t.Errorf("removed key: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification for a removed key")
	}
}

func TestCloseAndConcurrentReads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "v: 0\n")
	c := config.New(config.WithSource(file.NewSource(path)), config.WithLogger(&recorder{}))
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Value("v").Int(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 5 {
		replaceFile(t, path, "v: "+string(rune('1'+i))+"\n")
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, "last write", func() bool { v, _ := c.Value("v").Int(); return v == 5 })
	close(stop)
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := c.Load(); !errors.Is(err, config.ErrClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := c.Watch("v", func(string, config.Value) {}); !errors.Is(err, config.ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
	if v, _ := c.Value("v").Int(); v != 5 {
		t.Errorf("value after Close = %d", v)
	}
}

func TestWatchNilObserver(t *testing.T) {
	c := config.New()
	defer c.Close()
	if err := c.Watch("a", nil); err == nil {
		t.Error("nil Observer accepted")
	}
	if _, err := c.Value("a").String(); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Value before Load: %v", err)
	}
}

func TestCustomDecoderAndResolver(t *testing.T) {
	dec := func(kv *config.KeyValue, target map[string]any) error {
		if kv.Format != "kv" {
			return config.DefaultDecoder(kv, target)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(kv.Value)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			target[k] = v
		}
		return nil
	}
	res := func(tree map[string]any) error {
		tree["resolved"] = true
		return nil
	}
	c := load(t, config.WithDecoder(dec), config.WithResolver(res),
		config.WithSource(static{{Key: "a.kv", Value: []byte("x=1\ny=${z}"), Format: "kv"}}))
	if got := str(t, c, "y"); got != "${z}" {
		t.Errorf("y = %q, want the placeholder left alone", got)
	}
	if b, _ := c.Value("resolved").Bool(); !b {
		t.Error("custom resolver not run")
	}
}

func TestPanickingDecoderOrResolverFailsLoad(t *testing.T) {
	for name, tc := range map[string]struct {
		opt  config.Option
		want string
	}{
		"decoder": {
			config.WithDecoder(func(*config.KeyValue, map[string]any) error { panic("bad decoder") }),
			`config: decode "test.yaml": panic: bad decoder`,
		},
		"resolver": {
			config.WithResolver(func(map[string]any) error { panic("bad resolver") }),
			`config: resolve placeholders: panic: bad resolver`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := config.New(config.WithSource(static{yamlKV("a: 1")}), tc.opt)
			defer c.Close()
			if err := c.Load(); err == nil || err.Error() != tc.want {
				t.Errorf("Load: %v, want %s", err, tc.want)
			}
		})
	}
}

func TestYAMLScalars(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV("d: 2024-01-02\nt: 2024-01-02T03:04:05Z\n1: one\nbin: !!binary aGVsbG8=\n")}))
	for key, want := range map[string]string{"d": "2024-01-02", "t": "2024-01-02T03:04:05Z", "1": "one", "bin": "hello"} {
		if got := str(t, c, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestReloadDebounced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "v: 0\n")
	c := load(t, config.WithSource(file.NewSource(path)))
	var calls atomic.Int32
	c.Watch("v", func(string, config.Value) { calls.Add(1) })
	const writes = 20
	for i := 1; i <= writes; i++ {
		replaceFile(t, path, "v: "+strings.Repeat("a", i)+"\n")
	}
	eventually(t, "last write", func() bool { s, _ := c.Value("v").String(); return len(s) == writes })
	t.Logf("%d writes, %d reloads", writes, calls.Load())
	if n := calls.Load(); n >= writes {
		t.Errorf("%d writes gave %d reloads: not debounced", writes, n)
	}
}

func TestDecoderValuesNormalized(t *testing.T) {
	dec := func(kv *config.KeyValue, target map[string]any) error {
		target["i"] = 7
		target["u"] = uint64(1 << 63)
		target["u8"] = uint8(8)
		target["f"] = float32(0.5)
		target["m"] = map[any]any{1: "one", "k": []any{int32(3)}}
		return nil
	}
	c := load(t, config.WithDecoder(dec), config.WithSource(static{{Key: "x", Format: "custom"}}))
	want := map[string]any{
		"i": int64(7), "u": float64(1 << 63), "u8": int64(8), "f": 0.5,
		"m": map[string]any{"1": "one", "k": []any{int64(3)}},
	}
	if got := c.Value("").Load(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestWatchSourceErrorKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	writeFile(t, path, "v: 1\n")
	logs := &recorder{}
	c := config.New(config.WithSource(file.NewSource(path)), config.WithLogger(logs))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "source error log", func() bool {
		_, ok := logs.find(log.LevelError, "file "+path, path+" does not exist")
		return ok
	})
	if v, _ := c.Value("v").Int(); v != 1 {
		t.Errorf("v = %d after the file vanished, want 1", v)
	}
	writeFile(t, path, "v: 2\n")
	eventually(t, "recreated file", func() bool { v, _ := c.Value("v").Int(); return v == 2 })
}

// failing is a Source whose Watcher fails without blocking until stopped.
type failing struct{ nexts atomic.Int32 }

func (f *failing) Load() ([]*config.KeyValue, error) { return nil, nil }
func (f *failing) Watch() (config.Watcher, error)    { return failingWatcher{f, make(chan struct{})}, nil }

type failingWatcher struct {
	f    *failing
	stop chan struct{}
}

func (w failingWatcher) Next() ([]*config.KeyValue, error) {
	w.f.nexts.Add(1)
	return nil, errors.New("broken")
}
func (w failingWatcher) Stop() error { close(w.stop); return nil }

func TestFailingWatcherBacksOff(t *testing.T) {
	logs := &recorder{}
	f := &failing{}
	c := config.New(config.WithSource(f), config.WithLogger(logs))
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three failures", func() bool { return f.nexts.Load() >= 3 })
	if _, ok := logs.find(log.LevelError, "broken", "failing"); !ok {
		t.Error("watch error not logged")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Backoff (100ms, 200ms, ...) keeps a broken Watcher from spinning.
	if n := f.nexts.Load(); n > 20 {
		t.Errorf("Next called %d times", n)
	}
}
