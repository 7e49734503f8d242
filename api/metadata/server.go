// Package metadata is the zelos.api.metadata.v1.Metadata service: it lists
// the gRPC services a server serves and returns their file descriptors, so
// that tools and consoles can build requests for a service without its
// protos, as grpcurl does with reflection.
//
//	srv := grpc.NewServer()
//	pb.RegisterGreeterServer(srv, greeter)
//	md := metadata.NewServer(srv)
//	metadata.RegisterMetadataServer(srv, md)   // over gRPC
//	metadata.RegisterMetadataHTTPServer(h, md) // and over HTTP
//
// Descriptors come from the protobuf global registry
// (protoregistry.GlobalFiles), where generated code registers its files.
package metadata

import (
	"context"
	"slices"
	"strconv"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/zelos-go/zelos/errors"
)

// ServiceInfoer is what NewServer reads the served services from: a Zelos
// grpc.Server or a grpc-go *grpc.Server.
type ServiceInfoer interface {
	GetServiceInfo() map[string]ggrpc.ServiceInfo
}

// Server implements MetadataServer and MetadataHTTPServer.
type Server struct {
	UnimplementedMetadataServer
	srv   ServiceInfoer
	files *protoregistry.Files
}

// Option configures NewServer.
type Option func(*Server)

// WithFiles sets the registry descriptors are looked up in. The default is
// protoregistry.GlobalFiles.
func WithFiles(f *protoregistry.Files) Option {
	return func(s *Server) { s.files = f }
}

// NewServer returns the metadata service of srv. It reads srv's services on
// every call, so services registered after it are listed too.
func NewServer(srv ServiceInfoer, opts ...Option) *Server {
	s := &Server{srv: srv, files: protoregistry.GlobalFiles}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ListServices implements MetadataServer.
func (s *Server) ListServices(context.Context, *ListServicesRequest) (*ListServicesReply, error) {
	reply := &ListServicesReply{}
	for name, info := range s.srv.GetServiceInfo() {
		reply.Services = append(reply.Services, name)
		for _, m := range info.Methods {
			reply.Methods = append(reply.Methods, "/"+name+"/"+m.Name)
		}
	}
	slices.Sort(reply.Services)
	slices.Sort(reply.Methods)
	return reply, nil
}

// GetServiceDesc implements MetadataServer.
func (s *Server) GetServiceDesc(_ context.Context, in *GetServiceDescRequest) (*GetServiceDescReply, error) {
	if _, ok := s.srv.GetServiceInfo()[in.GetName()]; !ok {
		return nil, errors.NotFound("SERVICE_NOT_FOUND", "api/metadata: the server serves no service "+quote(in.GetName()))
	}
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(in.GetName()))
	if err != nil {
		return nil, errors.NotFound("DESCRIPTOR_NOT_FOUND", "api/metadata: no descriptor registered for "+quote(in.GetName()))
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	addFile(set, d.ParentFile(), seen)
	return &GetServiceDescReply{FileDescSet: set}, nil
}

// addFile appends f after its dependencies, each file once, so that the set
// can be loaded in order (protodesc.NewFiles does not need it, simpler
// tools do).
func addFile(set *descriptorpb.FileDescriptorSet, f protoreflect.FileDescriptor, seen map[string]bool) {
	if seen[f.Path()] {
		return
	}
	seen[f.Path()] = true
	imports := f.Imports()
	for i := range imports.Len() {
		addFile(set, imports.Get(i).FileDescriptor, seen)
	}
	set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
}

// quote bounds and quotes a name from a request for an error message.
func quote(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return strconv.Quote(s)
}
