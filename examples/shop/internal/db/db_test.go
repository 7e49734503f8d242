package db

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	g, closeDB, err := Open(context.Background(), "", "", Dir(filepath.Join(dir, "sub")), Name("svc"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	var mode string
	if err := g.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var timeout int
	if err := g.Raw("PRAGMA busy_timeout").Scan(&timeout).Error; err != nil {
		t.Fatal(err)
	}
	if timeout != int(busyTimeout.Milliseconds()) {
		t.Errorf("busy_timeout = %d, want %d", timeout, busyTimeout.Milliseconds())
	}
	if _, err := filepath.Glob(filepath.Join(dir, "sub", "svc.db")); err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteConcurrentWriters checks that two pools writing one file in
// read-then-write transactions wait for each other instead of failing
// with SQLITE_BUSY.
func TestSQLiteConcurrentWriters(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "w.db")
	type counter struct {
		ID int
		N  int
	}
	var pools []func()
	a, ca, err := Open(context.Background(), "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	pools = append(pools, ca)
	b, cb, err := Open(context.Background(), "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	pools = append(pools, cb)
	defer func() {
		for _, c := range pools {
			c()
		}
	}()
	if err := a.AutoMigrate(&counter{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(&counter{ID: 1}).Error; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		g := a
		if i%2 == 1 {
			g = b
		}
		wg.Go(func() {
			errs <- g.Transaction(func(tx *gorm.DB) error {
				var c counter
				if err := tx.First(&c, 1).Error; err != nil {
					return err
				}
				return tx.Model(&c).Update("n", c.N+1).Error
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var c counter
	if err := b.First(&c, 1).Error; err != nil {
		t.Fatal(err)
	}
	if c.N != 40 {
		t.Errorf("n = %d, want 40 (lost updates)", c.N)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ name, driver, dsn, want string }{
		{"unknown driver", "oracle", "x", "unknown driver"},
		{"mysql without dsn", "mysql", "", "mysql needs a DSN"},
		{"postgres without dsn", "postgres", "", "postgres needs a DSN"},
		{"bad sqlite query", "sqlite", "x.db?%zz", "sqlite DSN query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Open(context.Background(), tc.driver, tc.dsn, Dir(t.TempDir()))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "db: ") {
				t.Fatalf("err = %v, want db: ...%s", err, tc.want)
			}
		})
	}
}

func TestSQLiteDSNKeepsUserPragmas(t *testing.T) {
	got, err := sqliteDSN(filepath.Join(t.TempDir(), "a.db")+"?_pragma=busy_timeout(1)&_txlock=deferred", options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(got, "busy_timeout") != 1 || !strings.Contains(got, "_txlock=deferred") || !strings.Contains(got, "journal_mode") {
		t.Errorf("dsn = %s", got)
	}
}
