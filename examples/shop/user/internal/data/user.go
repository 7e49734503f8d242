package data

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
)

// userModel is the users table.
type userModel struct {
	ID           string    `gorm:"primaryKey;size:64"`
	Name         string    `gorm:"size:200;not null"`
	Email        string    `gorm:"size:254;not null;uniqueIndex"`
	PasswordHash []byte    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"index"`
}

func (userModel) TableName() string { return "users" }

type userRepo struct{ d *Data }

// NewUserRepo returns the biz.UserRepo over d.
func NewUserRepo(d *Data) biz.UserRepo { return &userRepo{d: d} }

func (r *userRepo) Create(ctx context.Context, u *biz.User) error {
	m := userModel{ID: u.ID, Name: u.Name, Email: u.Email, PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt}
	err := r.d.DB.WithContext(ctx).Create(&m).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return biz.ErrEmailTaken
	}
	return err
}

func (r *userRepo) Get(ctx context.Context, id string) (*biz.User, error) {
	return r.first(ctx, "id = ?", id)
}

func (r *userRepo) GetByEmail(ctx context.Context, email string) (*biz.User, error) {
	return r.first(ctx, "email = ?", email)
}

func (r *userRepo) first(ctx context.Context, where string, arg any) (*biz.User, error) {
	var m userModel
	err := r.d.DB.WithContext(ctx).Where(where, arg).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, biz.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return toBiz(&m), nil
}

func (r *userRepo) List(ctx context.Context, offset, limit int) ([]*biz.User, int, error) {
	var total int64
	q := r.d.DB.WithContext(ctx).Model(&userModel{})
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var ms []userModel
	if err := q.Order("created_at, id").Offset(offset).Limit(limit).Find(&ms).Error; err != nil {
		return nil, 0, err
	}
	out := make([]*biz.User, len(ms))
	for i := range ms {
		out[i] = toBiz(&ms[i])
	}
	return out, int(total), nil
}

func toBiz(m *userModel) *biz.User {
	return &biz.User{ID: m.ID, Name: m.Name, Email: m.Email, PasswordHash: m.PasswordHash, CreatedAt: m.CreatedAt.UTC()}
}
