// Package host works out the address a server advertises to a registry.
package host

import "net"

// Advertise returns the host:port to advertise for a listener bound to
// addr. An empty or unspecified host (":0", "0.0.0.0", "::") is replaced by
// an address of the machine's up interfaces (private before public, IPv4
// before IPv6), or else by 127.0.0.1; the port is kept, so a ":0" address
// gives the real port.
func Advertise(addr net.Addr) (string, error) {
	h, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
		h = privateIP()
	}
	return net.JoinHostPort(h, port), nil
}

// privateIP returns the best unicast address of an up, non-loopback
// interface: private IPv4, private IPv6, public IPv4, public IPv6, and
// 127.0.0.1 when there is none.
func privateIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	var best net.IP
	rank := func(ip net.IP) int {
		r := 0
		if ip.IsPrivate() {
			r += 2
		}
		if ip.To4() != nil {
			r++
		}
		return r
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || !ipn.IP.IsGlobalUnicast() {
				continue
			}
			if best == nil || rank(ipn.IP) > rank(best) {
				best = ipn.IP
			}
		}
	}
	if best == nil {
		return "127.0.0.1"
	}
	return best.String()
}
