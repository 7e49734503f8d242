package nacostest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// namingRequest is the common part of the naming requests.
type namingRequest struct {
	RequestID   string `json:"requestId"`
	Namespace   string `json:"namespace"`
	ServiceName string `json:"serviceName"`
	GroupName   string `json:"groupName"`
}

func (r namingRequest) key() serviceKey { return serviceKey{r.Namespace, r.GroupName, r.ServiceName} }

func (r namingRequest) valid() bool { return r.ServiceName != "" && r.GroupName != "" }

// serviceInfo is a service as the SDK reads it.
type serviceInfo struct {
	Name                     string     `json:"name"`
	GroupName                string     `json:"groupName"`
	Clusters                 string     `json:"clusters"`
	CacheMillis              uint64     `json:"cacheMillis"`
	Hosts                    []instance `json:"hosts"`
	LastRefTime              uint64     `json:"lastRefTime"`
	Checksum                 string     `json:"checksum"`
	AllIPs                   bool       `json:"allIPs"`
	ReachProtectionThreshold bool       `json:"reachProtectionThreshold"`
	Valid                    bool       `json:"valid"`
}

// serviceLocked returns the service at key, making it; s.mu must be held.
func (s *Server) serviceLocked(key serviceKey) *service {
	svc := s.services[key]
	if svc == nil {
		svc = &service{instances: map[string]instance{}, subscribers: map[*conn]string{}}
		s.services[key] = svc
	}
	return svc
}

// infoLocked is the view of a service for clusters ("" for all, or a comma
// list); s.mu must be held.
func (s *Server) infoLocked(key serviceKey, clusters string, healthyOnly bool) serviceInfo {
	info := serviceInfo{
		Name: key.name, GroupName: key.group, Clusters: clusters,
		CacheMillis: 10000, LastRefTime: s.nextRefTime(), Valid: true, Hosts: []instance{},
	}
	want := splitClusters(clusters)
	if svc := s.services[key]; svc != nil {
		for _, in := range svc.instances {
			if (want == nil || want[in.ClusterName]) && (!healthyOnly || in.Healthy) {
				info.Hosts = append(info.Hosts, in)
			}
		}
	}
	// A stable order, so that the checksum and the tests do not depend on
	// map iteration.
	slices.SortFunc(info.Hosts, func(a, b instance) int { return strings.Compare(instanceID(a), instanceID(b)) })
	b, _ := json.Marshal(info.Hosts)
	info.Checksum = md5Hex(string(b))
	return info
}

// serviceChangedLocked returns the notices to the subscribers of key.
func (s *Server) serviceChangedLocked(key serviceKey) []push {
	svc := s.services[key]
	if svc == nil {
		return nil
	}
	var out []push
	for c, clusters := range svc.subscribers {
		out = append(out, push{to: c, typ: "NotifySubscriberRequest", body: map[string]any{
			"requestId": s.pushID(), "namespace": key.namespace, "serviceName": key.name,
			"groupName": key.group, "module": "naming", "serviceInfo": s.infoLocked(key, clusters, false),
		}})
	}
	return out
}

// dropOwned removes the instances c published.
func (svc *service) dropOwned(c *conn) {
	for id, in := range svc.instances {
		if in.owner == c {
			delete(svc.instances, id)
		}
	}
}

func instanceID(in instance) string {
	return in.IP + "#" + strconv.FormatUint(in.Port, 10) + "#" + in.ClusterName
}

// normalize fills what Nacos fills in a registered instance.
func normalize(in instance, key serviceKey, owner *conn) instance {
	if in.ClusterName == "" {
		in.ClusterName = "DEFAULT"
	}
	in.ServiceName = key.group + "@@" + key.name
	in.InstanceID = instanceID(in) + "#" + in.ServiceName
	in.owner = owner
	return in
}

func (s *Server) instanceRequest(c *conn, body []byte) (string, any, []push) {
	const typ = "InstanceResponse"
	var req struct {
		namingRequest
		Type     string   `json:"type"`
		Instance instance `json:"instance"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() || req.Instance.IP == "" || req.Instance.Port == 0 {
		return typ, failure(codeBadRequest, "serviceName, groupName, ip and port are required"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.key()
	in := normalize(req.Instance, key, c)
	// As in Nacos 2, a connection publishes one instance per service with
	// registerInstance (or a list with batchRegisterInstance), which a
	// register replaces and a deregister removes whole.
	switch req.Type {
	case "registerInstance":
		svc := s.serviceLocked(key)
		svc.dropOwned(c)
		svc.instances[instanceID(in)] = in
	case "deregisterInstance":
		if svc := s.services[key]; svc != nil {
			svc.dropOwned(c)
		}
	default:
		return typ, failure(codeBadRequest, "unknown instance request type %q", req.Type), nil
	}
	return typ, struct {
		response
		Type string `json:"type"`
	}{success, req.Type}, s.serviceChangedLocked(key)
}

func (s *Server) batchInstance(c *conn, body []byte) (string, any, []push) {
	const typ = "BatchInstanceResponse"
	var req struct {
		namingRequest
		Type      string     `json:"type"`
		Instances []instance `json:"instances"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() || req.Type != "batchRegisterInstance" {
		return typ, failure(codeBadRequest, "bad BatchInstanceRequest"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.key()
	svc := s.serviceLocked(key)
	svc.dropOwned(c) // a batch replaces what the connection published in the service
	for _, in := range req.Instances {
		in = normalize(in, key, c)
		svc.instances[instanceID(in)] = in
	}
	return typ, success, s.serviceChangedLocked(key)
}

func (s *Server) subscribe(c *conn, body []byte) (string, any, []push) {
	const typ = "SubscribeServiceResponse"
	var req struct {
		namingRequest
		Subscribe bool   `json:"subscribe"`
		Clusters  string `json:"clusters"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() {
		return typ, failure(codeBadRequest, "serviceName and groupName are required"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.key()
	if req.Subscribe {
		s.serviceLocked(key).subscribers[c] = req.Clusters
	} else if svc := s.services[key]; svc != nil {
		delete(svc.subscribers, c)
	}
	return typ, struct {
		response
		ServiceInfo serviceInfo `json:"serviceInfo"`
	}{success, s.infoLocked(key, req.Clusters, false)}, nil
}

func (s *Server) serviceQuery(_ *conn, body []byte) (string, any, []push) {
	const typ = "QueryServiceResponse"
	var req struct {
		namingRequest
		Cluster     string `json:"cluster"`
		HealthyOnly bool   `json:"healthyOnly"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() {
		return typ, failure(codeBadRequest, "serviceName and groupName are required"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return typ, struct {
		response
		ServiceInfo serviceInfo `json:"serviceInfo"`
	}{success, s.infoLocked(req.key(), req.Cluster, req.HealthyOnly)}, nil
}

func (s *Server) serviceList(_ *conn, body []byte) (string, any, []push) {
	const typ = "ServiceListResponse"
	var req struct {
		namingRequest
		PageNo   int `json:"pageNo"`
		PageSize int `json:"pageSize"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return typ, failure(codeBadRequest, "bad ServiceListRequest"), nil
	}
	s.mu.Lock()
	var names []string
	for key, svc := range s.services {
		if key.namespace == req.Namespace && key.group == req.GroupName && len(svc.instances) > 0 {
			names = append(names, key.name)
		}
	}
	s.mu.Unlock()
	slices.Sort(names)
	count := len(names)
	if req.PageSize > 0 {
		start := max(req.PageNo-1, 0) * req.PageSize
		names = names[min(start, len(names)):min(start+req.PageSize, len(names))]
	}
	return typ, struct {
		response
		Count        int      `json:"count"`
		ServiceNames []string `json:"serviceNames"`
	}{success, count, names}, nil
}
