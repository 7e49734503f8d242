package apollo

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// requestTimeout bounds a read of one namespace.
	requestTimeout = 30 * time.Second
	// pollTimeout bounds one notifications poll: the config service holds
	// it for 60 seconds before answering 304, and Apollo asks clients to
	// wait longer than that.
	pollTimeout = 90 * time.Second
	// maxBody bounds the body of an answer. Apollo limits an item's value
	// to 20,000 characters by default, so a namespace this large is a
	// wrong endpoint rather than a configuration.
	maxBody = 32 << 20
)

// errNoRelease is a 404 for a namespace: Apollo has no such namespace, or
// it has no release yet (or any more).
var errNoRelease = errors.New("404 Not Found: no such namespace, or it has no release")

// release is the body of GET /configs/{appId}/{cluster}/{namespace}.
type release struct {
	AppID          string            `json:"appId"`
	Cluster        string            `json:"cluster"`
	NamespaceName  string            `json:"namespaceName"`
	Configurations map[string]string `json:"configurations"`
	ReleaseKey     string            `json:"releaseKey"`
}

// notification is one element of the notifications/v2 query parameter and
// of its answer.
type notification struct {
	NamespaceName  string `json:"namespaceName"`
	NotificationID int64  `json:"notificationId"`
}

// fetch reads the current release of ns. It sends the releaseKey of the
// release read last, so that an unchanged namespace costs a 304, and with
// it the notification ID that announced the change (id >= 0), which a
// config service with several instances needs to answer from fresh data.
func (s *Source) fetch(ctx context.Context, ns namespace, id int64) (release, error) {
	s.mu.Lock()
	last, cached := s.releases[ns.request]
	s.mu.Unlock()

	q := url.Values{}
	if cached && last.ReleaseKey != "" {
		q.Set("releaseKey", last.ReleaseKey)
		if id >= 0 {
			// {"details":{"appId+cluster+namespace":notificationId}}
			msg, _ := json.Marshal(map[string]map[string]int64{
				"details": {s.o.appID + "+" + s.o.cluster + "+" + ns.request: id},
			})
			q.Set("messages", string(msg))
		}
	}
	if s.o.ip != "" {
		q.Set("ip", s.o.ip)
	}
	u := s.url(q, "configs", s.o.appID, s.o.cluster, ns.request)

	var rel release
	status, err := s.get(ctx, u, requestTimeout, &rel)
	switch {
	case err != nil:
		return release{}, fmt.Errorf("apollo: read namespace %q: %w", ns.request, err)
	case status == http.StatusNotModified:
		if !cached {
			return release{}, fmt.Errorf("apollo: read namespace %q: 304 Not Modified for a request without a releaseKey", ns.request)
		}
		return last, nil
	case status == http.StatusNotFound:
		s.mu.Lock()
		delete(s.releases, ns.request)
		s.mu.Unlock()
		return release{}, fmt.Errorf("apollo: read namespace %q: %w", ns.request, errNoRelease)
	}
	if rel.Configurations == nil {
		rel.Configurations = map[string]string{}
	}
	s.mu.Lock()
	s.releases[ns.request] = rel
	s.mu.Unlock()
	return rel, nil
}

// poll asks the config service whether any namespace has a notification ID
// newer than ids (by request name). It returns the namespaces whose IDs
// moved and their new IDs, or nil when the service answered 304 (nothing
// changed while it held the request).
func (s *Source) poll(ctx context.Context, ids map[string]int64) (map[string]int64, error) {
	list := make([]notification, 0, len(s.spaces))
	for _, ns := range s.spaces {
		list = append(list, notification{NamespaceName: ns.request, NotificationID: ids[ns.request]})
	}
	b, _ := json.Marshal(list)
	q := url.Values{"appId": {s.o.appID}, "cluster": {s.o.cluster}, "notifications": {string(b)}}
	if s.o.ip != "" {
		q.Set("ip", s.o.ip)
	}
	var answer []notification
	status, err := s.get(ctx, s.url(q, "notifications", "v2"), pollTimeout, &answer)
	if err != nil {
		return nil, fmt.Errorf("apollo: poll notifications: %w", err)
	}
	if status == http.StatusNotModified {
		return nil, nil
	}
	moved := map[string]int64{}
	for _, n := range answer {
		if ns, ok := s.lookup(n.NamespaceName); ok {
			moved[ns.request] = n.NotificationID
		}
	}
	if len(moved) == 0 {
		return nil, fmt.Errorf("apollo: poll notifications: 200 OK names none of the namespaces polled")
	}
	return moved, nil
}

// lookup finds the namespace a notification names. The config service may
// answer with "application.properties" for "application", or in another
// case than asked.
func (s *Source) lookup(name string) (namespace, bool) {
	p, err := parseNamespace(name)
	if err != nil {
		return namespace{}, false
	}
	for _, ns := range s.spaces {
		if strings.EqualFold(ns.request, p.request) {
			return ns, true
		}
	}
	return namespace{}, false
}

// url builds the address of an API path under the endpoint, escaping each
// segment.
func (s *Source) url(q url.Values, segments ...string) *url.URL {
	u := *s.base
	for _, seg := range segments {
		u.Path += "/" + seg
		u.RawPath += "/" + url.PathEscape(seg)
	}
	u.RawQuery = q.Encode()
	return &u
}

// get sends a GET and decodes a 200 answer's JSON body into v. It returns
// the status of 200 and 304 answers; any other status is an error.
func (s *Source) get(ctx context.Context, u *url.URL, timeout time.Duration, v any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if s.o.secret != "" {
		sign(req.Header, s.o.appID, s.o.secret, pathWithQuery(u), time.Now())
	}
	resp, err := s.o.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > maxBody {
		return 0, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(body, v); err != nil {
			return 0, fmt.Errorf("decode answer: %w", err)
		}
		return http.StatusOK, nil
	case http.StatusNotModified, http.StatusNotFound:
		return resp.StatusCode, nil
	case http.StatusUnauthorized:
		return 0, errors.New("401 Unauthorized: the access key secret (WithSecret) is missing or wrong")
	}
	return 0, fmt.Errorf("%s: %s", resp.Status, snippet(body))
}

// snippet is the start of an error answer's body, to help tell a config
// service's message from a proxy's page.
func snippet(body []byte) string {
	const n = 200
	if len(body) > n {
		return strconv.Quote(string(body[:n])) + "..."
	}
	return strconv.Quote(string(body))
}

// pathWithQuery is what Apollo's signature covers: the escaped path and,
// when there is one, "?" and the raw query, as sent.
func pathWithQuery(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	return u.EscapedPath() + "?" + u.RawQuery
}

// sign sets Apollo's access-key headers: Timestamp, the time in Unix
// milliseconds, and Authorization, "Apollo {appId}:{signature}" where the
// signature is the Base64 HMAC-SHA1, keyed by the secret, of the timestamp,
// a newline and the path with query.
func sign(h http.Header, appID, secret, pathQuery string, now time.Time) {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h.Set("Authorization", "Apollo "+appID+":"+signature(secret, ts, pathQuery))
	h.Set("Timestamp", ts)
}

func signature(secret, timestamp, pathQuery string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + pathQuery))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
