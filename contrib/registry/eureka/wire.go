package eureka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/registry"
)

// The JSON shapes of Eureka's REST API (/eureka/v2/apps), as its
// documentation gives them. Ports are objects with the number under "$";
// Eureka servers built on XStream write a list of one element as the
// element itself, which one decodes as well.

type instanceEnvelope struct {
	Instance instanceInfo `json:"instance"`
}

type instanceInfo struct {
	InstanceID       string            `json:"instanceId"`
	HostName         string            `json:"hostName"`
	App              string            `json:"app"`
	IPAddr           string            `json:"ipAddr"`
	VipAddress       string            `json:"vipAddress"`
	SecureVipAddress string            `json:"secureVipAddress,omitempty"`
	Status           string            `json:"status"`
	Port             *portInfo         `json:"port,omitempty"`
	SecurePort       *portInfo         `json:"securePort,omitempty"`
	HomePageURL      string            `json:"homePageUrl,omitempty"`
	StatusPageURL    string            `json:"statusPageUrl,omitempty"`
	HealthCheckURL   string            `json:"healthCheckUrl,omitempty"`
	DataCenterInfo   dataCenterInfo    `json:"dataCenterInfo"`
	LeaseInfo        *leaseInfo        `json:"leaseInfo,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

type portInfo struct {
	Port    flexInt `json:"$"`
	Enabled string  `json:"@enabled"`
}

type dataCenterInfo struct {
	Class string `json:"@class"`
	Name  string `json:"name"`
}

type leaseInfo struct {
	RenewalIntervalInSecs int `json:"renewalIntervalInSecs"`
	DurationInSecs        int `json:"durationInSecs"`
}

type applicationEnvelope struct {
	Application application `json:"application"`
}

type application struct {
	Name     string                  `json:"name"`
	Instance oneOrMany[instanceInfo] `json:"instance"`
}

// flexInt is a number that some servers write as a string.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("port %s: %w", b, err)
	}
	*n = flexInt(v)
	return nil
}

// oneOrMany decodes a JSON list, or a single value as a list of one.
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*l = nil
		return nil
	case b[0] == '[':
		var v []T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = v
		return nil
	default:
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = []T{v}
		return nil
	}
}

// Metadata keys under which an instance keeps what Eureka has no field
// for. The app name is upper-cased by Eureka, so the name is kept as given.
const (
	metaName      = "zelos_name"
	metaVersion   = "zelos_version"
	metaEndpoints = "zelos_endpoints"
)

// toInstanceInfo maps s to Eureka's instance: app is the upper-cased name
// (Eureka's convention), the address and port come from the first
// endpoint with a host, and the name, version and endpoints are kept in
// metadata.
func toInstanceInfo(s *registry.ServiceInstance, renew, duration int) (instanceInfo, error) {
	meta := make(map[string]string, len(s.Metadata)+3)
	for k, v := range s.Metadata {
		if strings.HasPrefix(k, "zelos_") {
			return instanceInfo{}, fmt.Errorf("metadata key %q is reserved", k)
		}
		meta[k] = v
	}
	meta[metaName] = s.Name
	meta[metaVersion] = s.Version
	meta[metaEndpoints] = strings.Join(s.Endpoints, ",")
	in := instanceInfo{
		InstanceID:     s.ID,
		App:            strings.ToUpper(s.Name),
		VipAddress:     s.Name,
		Status:         "UP",
		DataCenterInfo: dataCenterInfo{Class: "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", Name: "MyOwn"},
		LeaseInfo:      &leaseInfo{RenewalIntervalInSecs: renew, DurationInSecs: duration},
		Metadata:       meta,
		Port:           &portInfo{Enabled: "false"},
		SecurePort:     &portInfo{Enabled: "false"},
	}
	for _, e := range s.Endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port, _ := strconv.Atoi(u.Port())
		in.HostName, in.IPAddr = u.Hostname(), u.Hostname()
		if u.Scheme == "https" {
			in.SecurePort = &portInfo{Port: flexInt(port), Enabled: "true"}
		} else {
			in.Port = &portInfo{Port: flexInt(port), Enabled: "true"}
		}
		if u.Scheme == "http" || u.Scheme == "https" {
			in.HomePageURL = u.Scheme + "://" + u.Host + "/"
		}
		break
	}
	if in.HostName == "" {
		in.HostName, in.IPAddr = "localhost", "127.0.0.1"
	}
	return in, nil
}

// fromInstanceInfo maps a listed Eureka instance back. Instances that
// Zelos did not register (no zelos_name) get the asked-for name, and an
// http (or https) endpoint from their address and enabled ports.
func fromInstanceInfo(name string, in instanceInfo) *registry.ServiceInstance {
	s := &registry.ServiceInstance{ID: in.InstanceID, Name: name, Metadata: map[string]string{}}
	for k, v := range in.Metadata {
		switch k {
		case metaName:
			s.Name = v
		case metaVersion:
			s.Version = v
		case metaEndpoints:
			if v != "" {
				s.Endpoints = strings.Split(v, ",")
			}
		default:
			s.Metadata[k] = v
		}
	}
	if _, ok := in.Metadata[metaEndpoints]; !ok {
		host := in.IPAddr
		if host == "" {
			host = in.HostName
		}
		if p := in.Port; p != nil && p.Enabled == "true" {
			s.Endpoints = append(s.Endpoints, "http://"+net.JoinHostPort(host, strconv.Itoa(int(p.Port))))
		}
		if p := in.SecurePort; p != nil && p.Enabled == "true" {
			s.Endpoints = append(s.Endpoints, "https://"+net.JoinHostPort(host, strconv.Itoa(int(p.Port))))
		}
	}
	if s.ID == "" {
		s.ID = net.JoinHostPort(in.HostName, strconv.Itoa(portOf(in.Port)))
	}
	return s
}

func portOf(p *portInfo) int {
	if p == nil {
		return 0
	}
	return int(p.Port)
}

// sameInstances reports whether two lists, sorted by ID, are equal.
func sameInstances(a, b []*registry.ServiceInstance) bool {
	return slices.EqualFunc(a, b, func(x, y *registry.ServiceInstance) bool {
		return x.ID == y.ID && x.Name == y.Name && x.Version == y.Version &&
			slices.Equal(x.Endpoints, y.Endpoints) && maps.Equal(x.Metadata, y.Metadata)
	})
}
