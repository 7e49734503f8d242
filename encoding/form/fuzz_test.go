package form_test

import (
	"net/url"
	"testing"

	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeValues decodes arbitrary query strings into a dynamic proto
// message and into a struct. Decoding must not panic, and whatever decodes
// must encode, decode again and encode to the same values.
func FuzzDecodeValues(f *testing.F) {
	for _, seed := range []string{
		"name=x&page_size=3&ids=1&ids=2&color=GREEN&flag=on",
		"inner.child.count=3&items[3].name=z&labels[a.b]=c&flags[true]=9&deadlines[x]=2021-01-01T00:00:00Z",
		"createTime=2020-01-02T03:04:05.5Z&ttl=1.5s&max=7&nick=&updateMask=fooBar.baz,x&nothing=",
		`attrs={"a":1}&anyValue=hello&list=[1]&times=2020-01-01T00:00:00Z&number=5&text=t&opt=0`,
		"data=-_8&fl=1e-3&db=NaN&u64=18446744073709551615&self.self.name=a&durations=1m&masks=a_b&values=null",
		"createTime.seconds=99999999999999&ttl.nanos=-1&ttl.seconds=1&updateMask.paths=aB",
		"id=7&owner=me&Note=n&page=2&size=255&ratio=0.5&active=1&level=3&tags=a&tags=&opt_int=5",
		"since=2024-05-01T10:00:00%2B02:00&until=2024-05-02T00:00:00Z&timeout=1m30s&ip=10.0.0.1&raw=AQI",
		"home.city=Paris&home.zip=75001&work.city=Lyon&labels[env]=prod&scores[1]=2.5&created=2024-01-01T00:00:00Z",
		"ttls=1s&req.name=f&req.label=LABEL_REPEATED&req.options.packed=true&Created.nanos=5",
		"labels[a]b]=c&items[1].child.child.color=2&NAME=x&page_size=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		vals, _ := url.ParseQuery(query) // keeps what it could parse
		m := newMsg()
		if form.DecodeValues(m, vals) == nil {
			if _, err := proto.Marshal(m); err != nil {
				t.Fatalf("decoded an invalid message from %q: %v", query, err)
			}
			checkStable(t, query, newMsg(), m)
		}
		var q Query
		if form.DecodeValues(&q, vals) == nil {
			checkStable(t, query, &Query{}, &q)
		}
	})
}

// checkStable encodes decoded, decodes that into fresh and checks that fresh
// encodes the same.
func checkStable(t *testing.T, query string, fresh, decoded any) {
	t.Helper()
	e1, err := form.EncodeValues(decoded)
	if err != nil {
		t.Fatalf("query %q decoded but does not encode: %v", query, err)
	}
	if err := form.DecodeValues(fresh, e1); err != nil {
		t.Fatalf("query %q: encoding %q does not decode: %v", query, e1.Encode(), err)
	}
	e2, err := form.EncodeValues(fresh)
	if err != nil {
		t.Fatalf("query %q: re-encoding: %v", query, err)
	}
	if e1.Encode() != e2.Encode() {
		t.Fatalf("query %q: unstable round trip\nfirst  %s\nsecond %s", query, e1.Encode(), e2.Encode())
	}
}
