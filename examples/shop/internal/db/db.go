// Package db opens the GORM database of a shop service: SQLite through a
// pure-Go driver (no cgo) by default, MySQL or PostgreSQL by DSN.
//
//	g, closeDB, err := db.Open(ctx, "sqlite", "", db.Dir("./data"), db.Name("user"))
//	defer closeDB()
//	err = g.AutoMigrate(&UserModel{})
package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// Option configures Open.
type Option func(*options)

type options struct {
	dir  string
	name string
}

// Dir is the directory of the SQLite file when the DSN is empty. The
// default is "./data".
func Dir(dir string) Option { return func(o *options) { o.dir = dir } }

// Name is the base name of the SQLite file when the DSN is empty:
// <Dir>/<Name>.db. The default is "shop".
func Name(name string) Option { return func(o *options) { o.name = name } }

// busyTimeout is how long a SQLite writer waits for another's lock before
// failing with SQLITE_BUSY. Several pools (two product instances in one
// process, say) write one file, so waiting is the normal case, not a
// failure.
const busyTimeout = 10 * time.Second

// Open opens the database and pings it. driver is sqlite ("" too), mysql
// or postgres. The returned function closes it.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*gorm.DB, func(), error) {
	o := options{dir: "./data", name: "shop"}
	for _, opt := range opts {
		opt(&o)
	}
	var dial gorm.Dialector
	switch driver {
	case "", "sqlite":
		s, err := sqliteDSN(dsn, o)
		if err != nil {
			return nil, nil, err
		}
		dial = sqlite.Open(s)
	case "mysql":
		if dsn == "" {
			return nil, nil, errors.New("db: mysql needs a DSN (user:pass@tcp(host:3306)/shop?parseTime=true)")
		}
		dial = mysql.Open(dsn)
	case "postgres":
		if dsn == "" {
			return nil, nil, errors.New("db: postgres needs a DSN (postgres://user:pass@host:5432/shop)")
		}
		dial = postgres.Open(dsn)
	default:
		return nil, nil, fmt.Errorf("db: unknown driver %q, want sqlite, mysql or postgres", driver)
	}
	g, err := gorm.Open(dial, &gorm.Config{
		// Errors reach the caller; GORM's own log would print SQL with
		// its arguments (password hashes among them).
		Logger:         gormlogger.Discard,
		TranslateError: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("db: open %s: %w", driverName(driver), err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("db: %w", err)
	}
	if driverName(driver) == "sqlite" {
		// One file, one writer at a time: a few connections are enough
		// for WAL's concurrent readers, and more only queue on the lock.
		sqlDB.SetMaxOpenConns(4)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, nil, fmt.Errorf("db: ping %s: %w", driverName(driver), err)
	}
	return g, func() { _ = sqlDB.Close() }, nil
}

func driverName(d string) string {
	if d == "" {
		return "sqlite"
	}
	return d
}

// sqliteDSN returns the DSN for the pure-Go SQLite driver: the file (from
// dsn, or <dir>/<name>.db) with WAL, a busy timeout, foreign keys and
// transactions that take the write lock at BEGIN. The last matters: a
// deferred transaction that reads and then writes cannot wait for the
// lock (SQLite answers SQLITE_BUSY at once to avoid a deadlock), while an
// immediate one waits its busy timeout like any writer.
func sqliteDSN(dsn string, o options) (string, error) {
	path, query, _ := strings.Cut(dsn, "?")
	if path == "" {
		path = filepath.Join(o.dir, o.name+".db")
	}
	if path != ":memory:" && !strings.HasPrefix(path, "file::memory:") {
		dir := filepath.Dir(strings.TrimPrefix(path, "file:"))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("db: sqlite directory: %w", err)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("db: sqlite DSN query: %w", err)
	}
	pragmas := strings.Join(q["_pragma"], ",")
	for _, p := range []struct{ name, value string }{
		{"busy_timeout", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())},
		{"journal_mode", "journal_mode(WAL)"},
		{"foreign_keys", "foreign_keys(1)"},
	} {
		if !strings.Contains(pragmas, p.name) {
			q.Add("_pragma", p.value)
		}
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode(), nil
}
