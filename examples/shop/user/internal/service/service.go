// Package service implements the UserService API over the biz use cases.
package service

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/page"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/examples/shop/user/internal/biz"
)

// UserService serves v1.UserService over gRPC and HTTP.
type UserService struct {
	v1.UnimplementedUserServiceServer
	uc *biz.UserUsecase
}

// NewUserService returns the service over uc.
func NewUserService(uc *biz.UserUsecase) *UserService { return &UserService{uc: uc} }

// CreateUser registers a user.
func (s *UserService) CreateUser(ctx context.Context, req *v1.CreateUserRequest) (*v1.CreateUserReply, error) {
	u, err := s.uc.Register(ctx, req.GetName(), req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &v1.CreateUserReply{User: toProto(u)}, nil
}

// Login issues a token.
func (s *UserService) Login(ctx context.Context, req *v1.LoginRequest) (*v1.LoginReply, error) {
	u, tok, exp, err := s.uc.Login(ctx, req.GetEmail(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &v1.LoginReply{Token: tok, ExpiresAt: exp.UTC().Format(time.RFC3339), User: toProto(u)}, nil
}

// GetUser returns one user.
func (s *UserService) GetUser(ctx context.Context, req *v1.GetUserRequest) (*v1.GetUserReply, error) {
	u, err := s.uc.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &v1.GetUserReply{User: toProto(u)}, nil
}

// ListUsers returns a page of users.
func (s *UserService) ListUsers(ctx context.Context, req *v1.ListUsersRequest) (*v1.ListUsersReply, error) {
	offset, limit := page.Bounds(req.GetPage(), req.GetPageSize())
	us, total, err := s.uc.List(ctx, offset, limit)
	if err != nil {
		return nil, err
	}
	reply := &v1.ListUsersReply{Users: make([]*v1.User, len(us)), Total: int32(total)}
	for i, u := range us {
		reply.Users[i] = toProto(u)
	}
	return reply, nil
}

func toProto(u *biz.User) *v1.User {
	return &v1.User{Id: u.ID, Name: u.Name, Email: u.Email, CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}
}
