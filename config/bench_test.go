package config_test

import (
	"testing"

	"github.com/zelos-go/zelos/config"
)

func BenchmarkValue(b *testing.B) {
	c := config.New(config.WithSource(static{yamlKV("data: {database: {source: x, pool: 10}}")}))
	defer c.Close()
	if err := c.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if n, err := c.Value("data.database.pool").Int(); err != nil || n != 10 {
				b.Fatal(n, err)
			}
		}
	})
}
