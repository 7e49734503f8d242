package biz

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/zelos-go/zelos/examples/shop/internal/ids"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
)

// User is a registered user.
type User struct {
	ID           string
	Name         string
	Email        string // lower case
	PasswordHash []byte // bcrypt
	CreatedAt    time.Time
}

// ErrNotFound and ErrEmailTaken are what a UserRepo returns for a missing
// user and a second user with one email.
var (
	ErrNotFound   = errors.New("biz: user not found")
	ErrEmailTaken = errors.New("biz: email taken")
)

// UserRepo stores users.
type UserRepo interface {
	// Create stores u; ErrEmailTaken if another user has its email.
	Create(ctx context.Context, u *User) error
	// Get returns the user with this id, or ErrNotFound.
	Get(ctx context.Context, id string) (*User, error)
	// GetByEmail returns the user with this (lower-case) email, or
	// ErrNotFound.
	GetByEmail(ctx context.Context, email string) (*User, error)
	// List returns limit users from offset, oldest first, and how many
	// there are in all.
	List(ctx context.Context, offset, limit int) ([]*User, int, error)
}

// Limits on what a user registers with. bcrypt reads at most 72 bytes of
// a password, so a longer one would be cut silently: refuse it instead.
const (
	MinPassword = 8
	MaxPassword = 72
	MaxName     = 100
	MaxEmail    = 254
)

// TokenIssuer signs the tokens Login returns.
type TokenIssuer struct {
	Secret []byte
	Issuer string
	TTL    time.Duration
}

// Claims are the claims of a login token: the registered ones (sub is the
// user's id) and the user's name.
type Claims struct {
	jwt.RegisteredClaims
	Name string `json:"name,omitempty"`
}

// Issue returns an HS256 token for u and when it expires.
func (t TokenIssuer) Issue(u *User, now time.Time) (string, time.Time, error) {
	exp := now.Add(t.TTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID,
			Issuer:    t.Issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        ids.New(),
		},
		Name: u.Name,
	})
	s, err := tok.SignedString(t.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("biz: sign token: %w", err)
	}
	return s, exp, nil
}

// UserUsecase registers users, logs them in and finds them.
type UserUsecase struct {
	repo   UserRepo
	tokens TokenIssuer
	cost   int
	log    *log.Helper
	now    func() time.Time
	// dummyHash is compared against when a login names an unknown email,
	// so that it takes as long as a wrong password and does not tell
	// which emails are registered.
	dummyHash []byte
}

// NewUserUsecase returns the use cases over repo. cost is bcrypt's work
// factor (bcrypt.DefaultCost when 0).
func NewUserUsecase(repo UserRepo, tokens TokenIssuer, cost int, logger log.Logger) (*UserUsecase, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("biz: bcrypt cost %d out of [%d, %d]", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if len(tokens.Secret) == 0 {
		return nil, errors.New("biz: empty JWT secret")
	}
	if tokens.TTL <= 0 {
		return nil, errors.New("biz: token TTL must be positive")
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), cost)
	if err != nil {
		return nil, fmt.Errorf("biz: %w", err)
	}
	return &UserUsecase{repo: repo, tokens: tokens, cost: cost, log: log.NewHelper(logger), now: time.Now, dummyHash: dummy}, nil
}

// Register creates a user with a bcrypt hash of password.
func (uc *UserUsecase) Register(ctx context.Context, name, email, password string) (*User, error) {
	name = strings.TrimSpace(name)
	email, err := normalizeEmail(email)
	if err != nil {
		return nil, err
	}
	switch {
	case name == "":
		return nil, v1.ErrorInvalidUser("name is required")
	case utf8.RuneCountInString(name) > MaxName:
		return nil, v1.ErrorInvalidUser("name is longer than %d characters", MaxName)
	case len(password) < MinPassword:
		return nil, v1.ErrorInvalidUser("password is shorter than %d bytes", MinPassword)
	case len(password) > MaxPassword:
		return nil, v1.ErrorInvalidUser("password is longer than %d bytes", MaxPassword)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), uc.cost)
	if err != nil {
		return nil, fmt.Errorf("biz: hash password: %w", err)
	}
	u := &User{ID: ids.New(), Name: name, Email: email, PasswordHash: hash, CreatedAt: uc.now().UTC()}
	// The unique index decides, not a look-up first: two registrations of
	// one email at once must not both succeed.
	if err := uc.repo.Create(ctx, u); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return nil, v1.ErrorEmailTaken("email %s is registered already", email)
		}
		return nil, err
	}
	uc.log.WithContext(ctx).Infow("msg", "user registered", "user_id", u.ID)
	return u, nil
}

// Login checks email and password and returns the user, a token and its
// expiry. A wrong email and a wrong password are the same error.
func (uc *UserUsecase) Login(ctx context.Context, email, password string) (*User, string, time.Time, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := uc.repo.GetByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		_ = bcrypt.CompareHashAndPassword(uc.dummyHash, []byte(password))
		return nil, "", time.Time{}, v1.ErrorInvalidCredentials("wrong email or password")
	case err != nil:
		return nil, "", time.Time{}, err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return nil, "", time.Time{}, v1.ErrorInvalidCredentials("wrong email or password")
	}
	tok, exp, err := uc.tokens.Issue(u, uc.now())
	if err != nil {
		return nil, "", time.Time{}, err
	}
	return u, tok, exp, nil
}

// Get returns one user.
func (uc *UserUsecase) Get(ctx context.Context, id string) (*User, error) {
	if id == "" {
		return nil, v1.ErrorInvalidUser("id is required")
	}
	u, err := uc.repo.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, v1.ErrorUserNotFound("no user %s", id)
	}
	return u, err
}

// List returns a page of users and how many there are in all.
func (uc *UserUsecase) List(ctx context.Context, offset, limit int) ([]*User, int, error) {
	return uc.repo.List(ctx, offset, limit)
}

func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", v1.ErrorInvalidUser("email is required")
	}
	if len(email) > MaxEmail {
		return "", v1.ErrorInvalidUser("email is longer than %d bytes", MaxEmail)
	}
	// A bare address only: "Name <a@b>" parses too, but is not an email
	// to store.
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", v1.ErrorInvalidUser("email %q is not an address", email)
	}
	return email, nil
}
