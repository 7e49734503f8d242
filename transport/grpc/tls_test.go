package grpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/transport/grpc"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "zelos test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	_, ep := startServer(t, newTestService("tls"), grpc.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}))

	cc, err := grpc.Dial(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithLogger(quiet),
		grpc.WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	out, err := testpb.NewTestServiceClient(cc).UnaryCall(testCtx(t), &testpb.SimpleRequest{Payload: payload("name")})
	if err != nil || string(out.GetPayload().GetBody()) != "tls" {
		t.Fatalf("TLS call = %v, %v", out, err)
	}

	// Without trusting the certificate, the call fails.
	untrusted, err := grpc.Dial(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	if _, err := testpb.NewTestServiceClient(untrusted).UnaryCall(testCtx(t), &testpb.SimpleRequest{}); err == nil {
		t.Error("call with an untrusted certificate succeeded")
	}

	// DialInsecure refuses a TLS configuration.
	if _, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithTLSConfig(&tls.Config{})); err == nil || !strings.Contains(err.Error(), "WithTLSConfig") {
		t.Errorf("DialInsecure with a TLS config: error %v", err)
	}
}
