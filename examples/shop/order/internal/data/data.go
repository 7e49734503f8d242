package data

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/db"
)

// Open opens the order database c names (an order.db SQLite file in c.Dir
// by default), migrates its tables and returns it with its readiness
// check (a ping) and the function that closes it.
func Open(ctx context.Context, c shopconf.Data) (*gorm.DB, func(context.Context) error, func(), error) {
	g, closeDB, err := db.Open(ctx, c.Database.Driver, c.Database.DSN, db.Dir(c.Dir), db.Name("order"))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := Migrate(g); err != nil {
		closeDB()
		return nil, nil, nil, err
	}
	sqlDB, err := g.DB()
	if err != nil {
		closeDB()
		return nil, nil, nil, fmt.Errorf("data: %w", err)
	}
	return g, sqlDB.PingContext, closeDB, nil
}
