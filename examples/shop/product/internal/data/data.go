// Package data implements the product service's repository on GORM.
package data

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/db"
)

// Data is the product service's database.
type Data struct {
	DB *gorm.DB
}

// NewData opens the database of c (SQLite <c.Dir>/product.db by default)
// and migrates its schema. The returned function closes it.
func NewData(ctx context.Context, c conf.Data) (*Data, func(), error) {
	g, closeDB, err := db.Open(ctx, c.Database.Driver, c.Database.DSN, db.Dir(c.Dir), db.Name("product"))
	if err != nil {
		return nil, nil, err
	}
	if err := g.WithContext(ctx).AutoMigrate(&productModel{}, &reservationModel{}, &stockRequestModel{}); err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("data: migrate: %w", err)
	}
	return &Data{DB: g}, closeDB, nil
}

// Ping checks the database, for readiness.
func (d *Data) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}
