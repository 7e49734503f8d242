package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/env"
	"github.com/zelos-go/zelos/config/file"
)

func ExampleNew() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(`
server:
  http:
    addr: ":8000"
data:
  database:
    source: "${DB_USER:root}@tcp(${data.database.host})/app"
    host: localhost:3306
  page_size: 10
`), 0o600)
	os.Setenv("APP_SERVER_HTTP_ADDR", ":9000") // overrides server.http.addr
	os.Setenv("APP_DATA_PAGE_SIZE", "50")      // overrides data.page_size
	defer os.Unsetenv("APP_SERVER_HTTP_ADDR")
	defer os.Unsetenv("APP_DATA_PAGE_SIZE")

	c := config.New(config.WithSource(file.NewSource(path), env.NewSource("APP_")))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	var conf struct {
		Server struct {
			HTTP struct {
				Addr string `json:"addr"`
			} `json:"http"`
		} `json:"server"`
		Data struct {
			Database struct {
				Source string `json:"source"`
			} `json:"database"`
			PageSize int `json:"page_size"`
		} `json:"data"`
	}
	if err := c.Scan(&conf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conf.Server.HTTP.Addr)
	fmt.Println(conf.Data.Database.Source)
	fmt.Println(conf.Data.PageSize)

	_, err := c.Value("data.redis.addr").String()
	fmt.Println(err)
	// Output:
	// :9000
	// root@tcp(localhost:3306)/app
	// 50
	// config: key "data.redis.addr" not found
}

func ExampleConfig_Watch() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte("log: {level: info}\nhttp: {addr: \":8000\"}\n"), 0o600)

	c := config.New(config.WithSource(file.NewSource(path)))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	levels := make(chan string, 1)
	c.Watch("log.level", func(key string, v config.Value) {
		s, _ := v.String()
		levels <- s
	})
	c.Watch("http", func(string, config.Value) { fmt.Println("http changed") }) // not called

	// Replace the file atomically, as editors and deployment tools do.
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte("log: {level: debug}\nhttp: {addr: \":8000\"}\n"), 0o600)
	os.Rename(tmp, path)

	select {
	case level := <-levels:
		fmt.Println("log.level is now", level)
	case <-time.After(10 * time.Second):
		fmt.Println("no reload")
	}
	// Output:
	// log.level is now debug
}

func ExampleNewResolver() {
	tree := map[string]any{
		"host": "db.internal",
		"port": "${DB_PORT:5432}",
		"dsn":  "postgres://${host}:${port}/app",
		"note": "$${not_a_placeholder}",
	}
	lookupEnv := func(string) (string, bool) { return "", false } // an empty environment
	if err := config.NewResolver(lookupEnv)(tree); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v %T\n", tree["port"], tree["port"])
	fmt.Println(tree["dsn"])
	fmt.Println(tree["note"])

	err := config.NewResolver(lookupEnv)(map[string]any{"a": map[string]any{"b": "${MISSING}"}})
	fmt.Println(err)
	// Output:
	// 5432 int64
	// postgres://db.internal:5432/app
	// ${not_a_placeholder}
	// config: key "a.b": cannot resolve placeholder "MISSING": no key or environment variable of that name
}

// A typo in a key is an error with Strict, rather than a setting silently
// left at its default.
func ExampleStrict() {
	c := config.New(config.WithSource(static{{Key: "config.yaml", Format: "yaml", Value: []byte(`
server:
  http:
    adress: 0.0.0.0:8001
    timeout: 5s
`)}}))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	var conf struct {
		Server struct {
			HTTP struct {
				Addr    string `json:"addr"`
				Timeout string `json:"timeout"`
			} `json:"http"`
		} `json:"server"`
	}
	fmt.Println(c.Scan(&conf, config.Strict()))
	// Output:
	// config: unknown key "server.http.adress" (did you mean "addr"?)
}
