package apollo_test

// This file is an in-process fake of the parts of Apollo's config service
// that the Source uses, written from Apollo's documentation ("Other
// language client user guide", sections 1.3 to 1.6):
//
//   - GET /configs/{appId}/{clusterName}/{namespaceName}?releaseKey=&messages=&ip=
//     answers {"appId","cluster","namespaceName","configurations","releaseKey"},
//     304 with an empty body when releaseKey is the current one, and 404 for
//     a namespace without a release.
//   - GET /notifications/v2?appId=&cluster=&notifications=[{"namespaceName",
//     "notificationId"}] answers at once with the namespaces whose
//     notification ID is newer than the client's, else holds the request
//     (60 s in Apollo; hold here) and answers 304 if nothing changed.
//   - With an access key secret, every request must carry
//     "Authorization: Apollo {appId}:{signature}" and "Timestamp" (Unix
//     milliseconds, within a minute of the fake's clock), the signature being
//     the Base64 HMAC-SHA1 of timestamp + "\n" + path with query; else 401.
//
// Properties namespaces are named without their extension, others with it
// ("redis.yaml"), whose release is one "content" item. Notification IDs are
// one global sequence, as Apollo's release message IDs are.

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeNamespace struct {
	configurations map[string]string
	releaseKey     string
	notificationID int64
}

type fakeApollo struct {
	appID, cluster, secret string
	srv                    *httptest.Server

	mu         sync.Mutex
	hold       time.Duration             // how long a poll is held; guarded by mu
	namespaces map[string]*fakeNamespace // by request name; guarded by mu
	gone       map[string]int64          // notification IDs of removed namespaces; guarded by mu
	seq        int64                     // last notification ID; guarded by mu
	changed    chan struct{}             // closed and replaced on every release; guarded by mu
	failWith   int                       // when not 0, every request gets this status; guarded by mu
	requests   []string                  // "GET path?query" of every request; guarded by mu
	notModCfg  int                       // 304 answers of /configs; guarded by mu
	closed     chan struct{}
	closeOnce  sync.Once
}

func newFakeApollo(t testing.TB, appID, cluster, secret string) *fakeApollo {
	f := &fakeApollo{
		appID: appID, cluster: cluster, secret: secret,
		hold:       500 * time.Millisecond,
		namespaces: map[string]*fakeNamespace{},
		gone:       map[string]int64{},
		changed:    make(chan struct{}),
		closed:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /configs/{appId}/{cluster}/{namespace}", f.configs)
	mux.HandleFunc("GET /notifications/v2", f.notifications)
	f.srv = httptest.NewServer(f.guard(mux))
	if t != nil {
		t.Cleanup(f.close)
	}
	return f
}

func (f *fakeApollo) close() {
	f.closeOnce.Do(func() { close(f.closed) })
	f.srv.Close()
}

// publish releases a properties namespace (or, with a "content" key, any
// other) and announces it with a new notification ID.
func (f *fakeApollo) publish(namespace string, configurations map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.namespaces[namespace] = &fakeNamespace{
		configurations: configurations,
		releaseKey:     "release-" + strconv.FormatInt(f.seq, 10),
		notificationID: f.seq,
	}
	f.announce()
}

// unpublish removes a namespace's release (the config service then answers
// 404) and announces it.
func (f *fakeApollo) unpublish(namespace string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	delete(f.namespaces, namespace)
	f.gone[namespace] = f.seq // so that polls about it answer
	f.announce()
}

// announce wakes the held polls; f.mu must be held.
func (f *fakeApollo) announce() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// setHold sets how long polls are held from now on.
func (f *fakeApollo) setHold(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = d
}

// fail makes every request answer status (0: answer normally again).
func (f *fakeApollo) fail(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWith = status
}

func (f *fakeApollo) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeApollo) notModifiedConfigs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notModCfg
}

// guard logs the request, checks the access-key signature, and applies
// fail.
func (f *fakeApollo) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		failWith := f.failWith
		f.mu.Unlock()
		if failWith != 0 {
			http.Error(w, "fake outage", failWith)
			return
		}
		if f.secret != "" && !f.signed(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signed checks the request's signature as Apollo's config service does.
func (f *fakeApollo) signed(r *http.Request) bool {
	ts := r.Header.Get("Timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if skew := time.Since(time.UnixMilli(ms)); skew > time.Minute || skew < -time.Minute {
		return false
	}
	pathQuery := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		pathQuery += "?" + r.URL.RawQuery
	}
	mac := hmac.New(sha1.New, []byte(f.secret))
	mac.Write([]byte(ts + "\n" + pathQuery))
	want := "Apollo " + f.appID + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(r.Header.Get("Authorization")), []byte(want))
}

func (f *fakeApollo) configs(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("appId") != f.appID || r.PathValue("cluster") != f.cluster {
		http.NotFound(w, r)
		return
	}
	if m := r.URL.Query().Get("messages"); m != "" {
		var msg struct {
			Details map[string]int64 `json:"details"`
		}
		if err := json.Unmarshal([]byte(m), &msg); err != nil || len(msg.Details) == 0 {
			http.Error(w, "bad messages", http.StatusBadRequest)
			return
		}
	}
	name := strings.TrimSuffix(r.PathValue("namespace"), ".properties")
	f.mu.Lock()
	ns, ok := f.namespaces[name]
	if ok && r.URL.Query().Get("releaseKey") == ns.releaseKey {
		f.notModCfg++
		f.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var body []byte
	if ok {
		body, _ = json.Marshal(map[string]any{
			"appId": f.appID, "cluster": f.cluster, "namespaceName": name,
			"configurations": ns.configurations, "releaseKey": ns.releaseKey,
		})
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(body)
}

func (f *fakeApollo) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var asked []struct {
		NamespaceName  string `json:"namespaceName"`
		NotificationID int64  `json:"notificationId"`
	}
	if q.Get("appId") == "" || q.Get("cluster") == "" ||
		json.Unmarshal([]byte(q.Get("notifications")), &asked) != nil || len(asked) == 0 {
		http.Error(w, "appId, cluster and notifications are required", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	timer := time.NewTimer(f.hold)
	f.mu.Unlock()
	defer timer.Stop()
	for {
		f.mu.Lock()
		var newer []map[string]any
		for _, a := range asked {
			id := f.currentID(strings.TrimSuffix(a.NamespaceName, ".properties"))
			if id > a.NotificationID {
				newer = append(newer, map[string]any{"namespaceName": a.NamespaceName, "notificationId": id})
			}
		}
		changed := f.changed
		f.mu.Unlock()
		if len(newer) > 0 {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			_ = json.NewEncoder(w).Encode(newer)
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		case <-f.closed:
			return
		}
	}
}

// currentID is the notification ID of a namespace, or -1 for one never
// released; f.mu must be held.
func (f *fakeApollo) currentID(name string) int64 {
	if ns, ok := f.namespaces[name]; ok {
		return ns.notificationID
	}
	if id, ok := f.gone[name]; ok {
		return id
	}
	return -1
}
