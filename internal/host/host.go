// Package host works out the address a server advertises to a registry.
package host

import "net"

// Advertise returns the host:port to advertise for a listener bound to
// addr. An empty or unspecified host (":0", "0.0.0.0", "::") is replaced by
// a private IP of the machine's up interfaces, IPv4 first, or else by
// 127.0.0.1; the port is kept, so a ":0" address gives the real port.
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

// privateIP returns a private address of an up, non-loopback interface,
// preferring IPv4, or 127.0.0.1.
func privateIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	var v6 string
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
			if !ok || !ipn.IP.IsPrivate() {
				continue
			}
			if ip4 := ipn.IP.To4(); ip4 != nil {
				return ip4.String()
			}
			if v6 == "" {
				v6 = ipn.IP.String()
			}
		}
	}
	if v6 != "" {
		return v6
	}
	return "127.0.0.1"
}
