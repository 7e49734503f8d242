package transcode

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The google.api.http extension must be known when descriptor bytes
	// are parsed, so that method options carry it as an extension rather
	// than as unknown fields.
	_ "google.golang.org/genproto/googleapis/api/annotations"
)

// maxDescriptorSet bounds the size of a descriptor set file: far above any
// real API (googleapis as a whole is about 30 MB), low enough that a wrong
// path (a disk image) fails fast.
const maxDescriptorSet = 256 << 20

// LoadDescriptorSet reads a google.protobuf.FileDescriptorSet file, as
// written by `protoc --include_imports -o` or `buf build -o`, and returns
// its files. Imports missing from the set are taken from the files linked
// into the binary (protoregistry.GlobalFiles), which always include the
// well-known types and google/api/annotations.proto, so a set built
// without --include_imports loads too when it imports nothing else.
func LoadDescriptorSet(path string) (*protoregistry.Files, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("transcode: descriptor set: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptorSet+1))
	if err != nil {
		return nil, fmt.Errorf("transcode: descriptor set %s: %w", path, err)
	}
	if len(data) > maxDescriptorSet {
		return nil, fmt.Errorf("transcode: descriptor set %s: larger than %d bytes", path, maxDescriptorSet)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("transcode: descriptor set %s: not a FileDescriptorSet: %w", path, err)
	}
	files, err := buildFiles(set.GetFile())
	if err != nil {
		return nil, fmt.Errorf("transcode: descriptor set %s: %w", path, err)
	}
	return files, nil
}

// Reflection service names. The v1alpha service has the same messages as
// v1, byte for byte, so both are spoken with the v1 Go types.
const (
	reflectionV1      = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	reflectionV1Alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
)

// skipService reports whether a service is infrastructure that gets no
// routes: reflection and health.
func skipService(name string) bool {
	return strings.HasPrefix(name, "grpc.reflection.") || name == "grpc.health.v1.Health"
}

// FromReflection asks the gRPC server behind cc for its services through
// the server reflection service (grpc.reflection.v1, falling back to
// v1alpha for older servers) and returns the files that define them, with
// all their imports. The reflection and health services are left out. ctx
// bounds the whole exchange.
func FromReflection(ctx context.Context, cc grpc.ClientConnInterface) (*protoregistry.Files, error) {
	files, err := reflectFiles(ctx, cc, reflectionV1)
	if status.Code(err) == codes.Unimplemented {
		files, err = reflectFiles(ctx, cc, reflectionV1Alpha)
	}
	if err != nil {
		return nil, fmt.Errorf("transcode: reflection: %w", err)
	}
	return files, nil
}

func reflectFiles(ctx context.Context, cc grpc.ClientConnInterface, method string) (*protoregistry.Files, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream whatever happens below
	desc := &grpc.StreamDesc{StreamName: "ServerReflectionInfo", ServerStreams: true, ClientStreams: true}
	cs, err := cc.NewStream(ctx, desc, method)
	if err != nil {
		return nil, err
	}
	r := &reflector{cs: cs, have: map[string]*descriptorpb.FileDescriptorProto{}, asked: map[string]bool{}}
	services, err := r.listServices()
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if skipService(s) {
			continue
		}
		if err := r.ask(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: s},
		}); err != nil {
			return nil, fmt.Errorf("service %s: %w", s, err)
		}
	}
	// Servers usually send a file's imports along with it; ask for any
	// they left out, once each, until the set is closed. An import the
	// server cannot give is left to buildFiles, which takes it from the
	// binary or fails naming it.
	for missing := r.missing(); len(missing) > 0; missing = r.missing() {
		for _, name := range missing {
			r.asked[name] = true
			err := r.ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: name},
			})
			if err != nil && status.Code(err) != codes.NotFound {
				return nil, fmt.Errorf("file %s: %w", name, err)
			}
		}
	}
	_ = cs.CloseSend()
	fdps := make([]*descriptorpb.FileDescriptorProto, 0, len(r.have))
	for _, fdp := range r.have {
		fdps = append(fdps, fdp)
	}
	return buildFiles(fdps)
}

// reflector holds one reflection exchange and the files received so far.
type reflector struct {
	cs    grpc.ClientStream
	have  map[string]*descriptorpb.FileDescriptorProto
	asked map[string]bool // files asked for by name
}

func (r *reflector) roundTrip(req *reflectionpb.ServerReflectionRequest) (*reflectionpb.ServerReflectionResponse, error) {
	if err := r.cs.SendMsg(req); err != nil {
		// The stream's real error comes from RecvMsg.
		if !stderrors.Is(err, io.EOF) {
			return nil, err
		}
	}
	res := new(reflectionpb.ServerReflectionResponse)
	if err := r.cs.RecvMsg(res); err != nil {
		if stderrors.Is(err, io.EOF) {
			return nil, status.Error(codes.Unavailable, "reflection stream ended")
		}
		return nil, err
	}
	if e := res.GetErrorResponse(); e != nil {
		return nil, status.Error(codes.Code(e.GetErrorCode()), e.GetErrorMessage())
	}
	return res, nil
}

func (r *reflector) listServices() ([]string, error) {
	res, err := r.roundTrip(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range res.GetListServicesResponse().GetService() {
		out = append(out, s.GetName())
	}
	slices.Sort(out)
	return out, nil
}

// ask sends req and keeps the files of the reply.
func (r *reflector) ask(req *reflectionpb.ServerReflectionRequest) error {
	res, err := r.roundTrip(req)
	if err != nil {
		return err
	}
	for _, b := range res.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			return fmt.Errorf("a file descriptor does not decode: %w", err)
		}
		if _, ok := r.have[fdp.GetName()]; !ok {
			r.have[fdp.GetName()] = fdp
		}
	}
	return nil
}

// missing returns the imports of the files received that are neither
// received nor asked for already, sorted.
func (r *reflector) missing() []string {
	var out []string
	for _, fdp := range r.have {
		for _, dep := range fdp.GetDependency() {
			if _, ok := r.have[dep]; !ok && !r.asked[dep] && !slices.Contains(out, dep) {
				out = append(out, dep)
			}
		}
	}
	slices.Sort(out)
	return out
}

// buildFiles turns file descriptor protos, in any order, into a registry.
// An import found in neither fdps nor protoregistry.GlobalFiles is an
// error naming the file that needs it.
func buildFiles(fdps []*descriptorpb.FileDescriptorProto) (*protoregistry.Files, error) {
	byName := make(map[string]*descriptorpb.FileDescriptorProto, len(fdps))
	for _, fdp := range fdps {
		if _, dup := byName[fdp.GetName()]; dup {
			return nil, fmt.Errorf("file %s appears twice", fdp.GetName())
		}
		byName[fdp.GetName()] = fdp
	}
	b := &filesBuilder{byName: byName, files: new(protoregistry.Files), state: map[string]int{}}
	names := make([]string, 0, len(fdps))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names) // a deterministic first error
	for _, name := range names {
		if err := b.add(name, ""); err != nil {
			return nil, err
		}
	}
	return b.files, nil
}

type filesBuilder struct {
	byName map[string]*descriptorpb.FileDescriptorProto
	files  *protoregistry.Files
	state  map[string]int // 1: being added (its imports are), 2: added
}

// add registers the file name, its imports first. from is the file that
// imports it, for error messages.
func (b *filesBuilder) add(name, from string) error {
	switch b.state[name] {
	case 1:
		return fmt.Errorf("import cycle through %s", name)
	case 2:
		return nil
	}
	fdp, ok := b.byName[name]
	if !ok {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(name)
		if err != nil {
			return fmt.Errorf("file %s imports %s, which is neither in the set nor linked into the binary", from, name)
		}
		return b.addLinked(fd)
	}
	b.state[name] = 1
	for _, dep := range fdp.GetDependency() {
		if err := b.add(dep, name); err != nil {
			return err
		}
	}
	fd, err := protodesc.NewFile(fdp, b.files)
	if err != nil {
		return err
	}
	b.state[name] = 2
	return b.register(fd)
}

// addLinked registers a file linked into the binary, its imports first, so
// that files built later resolve the types those imports define.
func (b *filesBuilder) addLinked(fd protoreflect.FileDescriptor) error {
	b.state[fd.Path()] = 2
	imports := fd.Imports()
	for i := range imports.Len() {
		imp := imports.Get(i).FileDescriptor
		if b.state[imp.Path()] == 0 && b.byName[imp.Path()] == nil {
			if err := b.addLinked(imp); err != nil {
				return err
			}
		}
	}
	return b.register(fd)
}

func (b *filesBuilder) register(fd protoreflect.FileDescriptor) error {
	if err := b.files.RegisterFile(fd); err != nil {
		return fmt.Errorf("file %s: %w", fd.Path(), err)
	}
	return nil
}
