package nacostest

import (
	"encoding/json"
	"path"
	"strings"
	"time"
)

// configRequest is the common part of the config requests.
type configRequest struct {
	RequestID string `json:"requestId"`
	DataID    string `json:"dataId"`
	Group     string `json:"group"`
	Tenant    string `json:"tenant"`
	Module    string `json:"module"`
}

func (r configRequest) key() configKey { return configKey{r.Tenant, r.Group, r.DataID} }

func (r configRequest) valid() bool { return r.DataID != "" && r.Group != "" }

func (s *Server) configQuery(_ *conn, body []byte) (string, any, []push) {
	const typ = "ConfigQueryResponse"
	var req configRequest
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() {
		return typ, failure(codeBadRequest, "dataId and group are required"), nil
	}
	s.mu.Lock()
	item, found := s.configs[req.key()]
	s.mu.Unlock()
	if !found {
		return typ, failure(codeNotFound, "config data not exist"), nil
	}
	return typ, struct {
		response
		Content      string `json:"content"`
		ContentType  string `json:"contentType"`
		Md5          string `json:"md5"`
		LastModified int64  `json:"lastModified"`
	}{success, item.content, contentType(req.DataID), item.md5, item.lastModified}, nil
}

// contentType is the type Nacos stores with a configuration; the console
// sets it, and the fake works it out from the data ID.
func contentType(dataID string) string {
	switch ext := strings.ToLower(strings.TrimPrefix(path.Ext(dataID), ".")); ext {
	case "yaml", "yml":
		return "yaml"
	case "json", "xml", "html", "properties":
		return ext
	}
	return "text"
}

func (s *Server) configBatchListen(c *conn, body []byte) (string, any, []push) {
	const typ = "ConfigChangeBatchListenResponse"
	var req struct {
		Listen   bool `json:"listen"`
		Contexts []struct {
			DataID string `json:"dataId"`
			Group  string `json:"group"`
			Tenant string `json:"tenant"`
			Md5    string `json:"md5"`
		} `json:"configListenContexts"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return typ, failure(codeBadRequest, "bad ConfigBatchListenRequest"), nil
	}
	type changed struct {
		DataID string `json:"dataId"`
		Group  string `json:"group"`
		Tenant string `json:"tenant"`
	}
	out := []changed{}
	s.mu.Lock()
	for _, lc := range req.Contexts {
		key := configKey{lc.Tenant, lc.Group, lc.DataID}
		if !req.Listen {
			delete(s.listening[key], c)
			continue
		}
		if s.listening[key] == nil {
			s.listening[key] = map[*conn]bool{}
		}
		s.listening[key][c] = true
		if s.configs[key].md5 != lc.Md5 {
			out = append(out, changed{lc.DataID, lc.Group, lc.Tenant})
		}
	}
	s.mu.Unlock()
	return typ, struct {
		response
		ChangedConfigs []changed `json:"changedConfigs"`
	}{success, out}, nil
}

func (s *Server) configPublish(_ *conn, body []byte) (string, any, []push) {
	const typ = "ConfigPublishResponse"
	var req struct {
		configRequest
		Content string `json:"content"`
		CasMd5  string `json:"casMd5"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() || req.Content == "" {
		return typ, failure(codeBadRequest, "dataId, group and content are required"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.key()
	if req.CasMd5 != "" && s.configs[key].md5 != req.CasMd5 {
		return typ, failure(codeFail, "cas publish fail, server md5 differs"), nil
	}
	s.configs[key] = configItem{content: req.Content, md5: md5Hex(req.Content), lastModified: time.Now().UnixMilli()}
	return typ, success, s.configChangedLocked(key)
}

func (s *Server) configRemove(_ *conn, body []byte) (string, any, []push) {
	const typ = "ConfigRemoveResponse"
	var req configRequest
	if err := json.Unmarshal(body, &req); err != nil || !req.valid() {
		return typ, failure(codeBadRequest, "dataId and group are required"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.configs, req.key())
	return typ, success, s.configChangedLocked(req.key())
}
