package host

import (
	"net"
	"strings"
	"testing"
)

func TestAdvertise(t *testing.T) {
	for _, tc := range []struct{ addr, wantPrefix, wantPort string }{
		{"127.0.0.1:9000", "127.0.0.1:", "9000"},
		{"10.1.2.3:80", "10.1.2.3:", "80"},
		{"[::1]:8000", "[::1]:", "8000"},
	} {
		a, _ := net.ResolveTCPAddr("tcp", tc.addr)
		got, err := Advertise(a)
		if err != nil || !strings.HasPrefix(got, tc.wantPrefix) || !strings.HasSuffix(got, ":"+tc.wantPort) {
			t.Errorf("Advertise(%s) = %q, %v", tc.addr, got, err)
		}
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got, err := Advertise(ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	h, port, _ := net.SplitHostPort(got)
	if ip := net.ParseIP(h); ip == nil || ip.IsUnspecified() || port == "0" {
		t.Fatalf("unspecified address advertised as %q", got)
	}
	if _, wantPort, _ := net.SplitHostPort(ln.Addr().String()); port != wantPort {
		t.Fatalf("port %s, want the bound port %s", port, wantPort)
	}
}
