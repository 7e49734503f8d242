package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
	"github.com/zelos-go/zelos/log"
)

// GreeterService implements helloworld.v1.Greeter.
//
// Two names are demo hooks used by the tests: "panic" makes the handler
// panic (the recovery middleware turns it into a 500), and "slow" makes it
// take slowDelay (to show that a graceful stop lets it finish).
type GreeterService struct {
	v1.UnimplementedGreeterServer

	prefix string
	log    *log.Helper
}

const slowDelay = 1500 * time.Millisecond

// NewGreeterService returns a GreeterService greeting with prefix.
func NewGreeterService(prefix string, logger log.Logger) *GreeterService {
	return &GreeterService{prefix: prefix, log: log.NewHelper(logger)}
}

// SayHello greets one name.
func (s *GreeterService) SayHello(ctx context.Context, in *v1.HelloRequest) (*v1.HelloReply, error) {
	switch in.GetName() {
	case "panic":
		panic("demo panic requested")
	case "slow":
		select {
		case <-time.After(slowDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &v1.HelloReply{Message: s.prefix + " " + in.GetName()}, nil
}

// SayHelloStream sends Count greetings (3 when Count is 0).
func (s *GreeterService) SayHelloStream(in *v1.HelloRequest, stream grpc.ServerStreamingServer[v1.HelloReply]) error {
	n := int(in.GetCount())
	if n == 0 {
		n = 3
	}
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("%s %s (%d/%d)", s.prefix, in.GetName(), i, n)
		if err := stream.Send(&v1.HelloReply{Message: msg}); err != nil {
			return err
		}
	}
	return nil
}
