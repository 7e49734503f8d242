package form_test

import (
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type Base struct {
	ID    int64  `json:"id"`
	Owner string `form:"owner"`
}

type extra struct {
	Note string
}

type Address struct {
	City string `json:"city"`
	Zip  *int   `form:"zip,omitempty"`
}

type Level int

type Query struct {
	Base
	extra
	Name     string            `form:"name"`
	Page     int32             `form:"page"`
	Size     uint8             `json:"size,omitempty"`
	Ratio    float32           `form:"ratio"`
	Active   bool              `form:"active"`
	Level    Level             `form:"level"`
	Tags     []string          `form:"tags"`
	IDs      []int             `form:"ids"`
	Opt      *string           `form:"opt"`
	OptInt   **int             `form:"opt_int"`
	Since    time.Time         `form:"since"`
	Until    *time.Time        `form:"until"`
	Timeout  time.Duration     `form:"timeout"`
	IP       netip.Addr        `form:"ip"`
	Raw      []byte            `form:"raw"`
	Home     Address           `form:"home"`
	Work     *Address          `form:"work"`
	Labels   map[string]string `form:"labels"`
	Scores   map[int]float64   `form:"scores"`
	Created  *timestamppb.Timestamp
	TTLs     []*durationpb.Duration `form:"ttls"`
	Req      *descriptorpb.FieldDescriptorProto
	Skip     string `form:"-"`
	JSONSkip string `json:"-"`
	Func     func()
	Any      any
	private  string
}

func TestDecodeStruct(t *testing.T) {
	vals := mustParse(t, strings.Join([]string{
		"id=7", "owner=me", "Note=n", "name=bob", "page=2", "size=255", "ratio=0.5", "active=on", "level=3",
		"tags=a", "tags=", "tags=b", "ids=1", "ids=2", "opt=", "opt_int=5",
		"since=2024-05-01T10:00:00%2B02:00", "until=2024-05-02T00:00:00Z", "timeout=1m30s",
		"ip=10.0.0.1", "raw=AQI", "home.city=Paris", "home.zip=75001", "work.city=Lyon",
		"labels[env]=prod", "scores[1]=2.5", "created=2024-01-01T00:00:00Z", "ttls=1s", "ttls=2.5s",
		"req.name=f", "req.label=LABEL_REPEATED", "Skip=x", "JSONSkip=x", "Func=x", "Any=x", "private=x", "unknown=x",
	}, "&"))
	var got Query
	if err := form.DecodeValues(&got, vals); err != nil {
		t.Fatal(err)
	}
	empty, five, zip := "", 5, 75001
	pfive := &five
	want := Query{
		Base: Base{ID: 7, Owner: "me"}, extra: extra{Note: "n"},
		Name: "bob", Page: 2, Size: 255, Ratio: 0.5, Active: true, Level: 3,
		Tags: []string{"a", "", "b"}, IDs: []int{1, 2}, Opt: &empty, OptInt: &pfive,
		Since:   time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("", 2*3600)),
		Until:   ptr(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)),
		Timeout: 90 * time.Second, IP: netip.MustParseAddr("10.0.0.1"), Raw: []byte{1, 2},
		Home: Address{City: "Paris", Zip: &zip}, Work: &Address{City: "Lyon"},
		Labels: map[string]string{"env": "prod"}, Scores: map[int]float64{1: 2.5},
	}
	if !got.Since.Equal(want.Since) || !got.Until.Equal(*want.Until) {
		t.Errorf("times: got %v %v", got.Since, got.Until)
	}
	got.Since, got.Until, want.Until = want.Since, nil, nil
	if !proto.Equal(got.Created, timestamppb.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))) {
		t.Errorf("Created = %v", got.Created)
	}
	if len(got.TTLs) != 2 || got.TTLs[0].AsDuration() != time.Second || got.TTLs[1].AsDuration() != 2500*time.Millisecond {
		t.Errorf("TTLs = %v", got.TTLs)
	}
	wantReq := &descriptorpb.FieldDescriptorProto{Name: proto.String("f"), Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()}
	if !proto.Equal(got.Req, wantReq) {
		t.Errorf("Req = %v", got.Req)
	}
	got.Created, got.TTLs, got.Req = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeValues\n got %+v\nwant %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeStructNames(t *testing.T) {
	type S struct {
		PageSize int `json:"page_size"`
		Plain    string
	}
	for _, q := range []string{"page_size=3&Plain=x", "PAGE_SIZE=3&plain=x"} {
		var s S
		if err := form.DecodeValues(&s, mustParse(t, q)); err != nil {
			t.Fatal(err)
		}
		if s != (S{PageSize: 3, Plain: "x"}) {
			t.Errorf("%s: got %+v", q, s)
		}
	}
	// Exact match beats a case-insensitive one whatever the key order.
	var s S
	if err := form.DecodeValues(&s, url.Values{"plain": {"fold"}, "Plain": {"exact"}, "PLAIN": {"fold2"}}); err != nil {
		t.Fatal(err)
	}
	if s.Plain != "fold" {
		// Keys apply in sorted order: PLAIN, Plain, plain; the last wins.
		t.Errorf("got %q", s.Plain)
	}
}

func TestDecodeStructEmbeddingConflicts(t *testing.T) {
	type A struct{ X, Y int }
	type B struct {
		X int
		Y int `form:"Y"`
	}
	type C struct {
		A
		B
		Z int
	}
	var c C
	if err := form.DecodeValues(&c, url.Values{"X": {"1"}, "Y": {"2"}, "Z": {"3"}}); err != nil {
		t.Fatal(err)
	}
	// X is ambiguous and hidden; the tagged Y wins.
	if c.A.X != 0 || c.B.X != 0 || c.A.Y != 0 || c.B.Y != 2 || c.Z != 3 {
		t.Errorf("got %+v", c)
	}

	type P struct{ *Base }
	var p P
	if err := form.DecodeValues(&p, url.Values{"id": {"4"}}); err != nil || p.Base == nil || p.ID != 4 {
		t.Errorf("embedded pointer: got %+v, %v", p, err)
	}
}

func TestDecodeStructErrors(t *testing.T) {
	tests := []struct{ query, want string }{
		{"page=abc", `form: field "page": invalid value "abc" for int32`},
		{"size=256", `form: field "size": invalid value "256" for uint8`},
		{"ratio=x", `form: field "ratio": invalid value "x" for float32`},
		{"active=yes", `form: field "active": invalid value "yes" for bool`},
		{"level=high", `form: field "level": invalid value "high" for form_test.Level`},
		{"ids=1&ids=two", `form: field "ids": invalid value "two" for int`},
		{"opt_int=x", `form: field "opt_int": invalid value "x" for int`},
		{"since=yesterday", `form: field "since": invalid value "yesterday" for time.Time`},
		{"timeout=long", `form: field "timeout": invalid value "long" for time.Duration`},
		{"ip=300.1.1.1", `form: field "ip": invalid value "300.1.1.1" for netip.Addr: ParseAddr("300.1.1.1"): IPv4 field has value >255`},
		{"raw=%21", `form: field "raw": invalid value "!" for base64 []uint8`},
		{"home.zip=x", `form: field "home.zip": invalid value "x" for int`},
		{"home=x", `form: field "home": cannot set struct form_test.Address from a single value; set its fields as "home.field"`},
		{"scores[x]=1", `form: field "scores[x]": invalid map key "x" for int`},
		{"scores[1]=x", `form: field "scores[1]": invalid value "x" for float64`},
		{"labels=x", `form: field "labels": map field "labels" needs a key, as in "labels[key]"`},
		{"name[x]=y", `form: field "name[x]": "name" is not a map field`},
		{"name.x=y", `form: field "name.x": string field "name" has no subfields`},
		{"created=x", `form: field "created": invalid value "x" for google.protobuf.Timestamp`},
		{"ttls=x", `form: field "ttls": invalid value "x" for google.protobuf.Duration`},
		{"req=x", `form: field "req": cannot set message google.protobuf.FieldDescriptorProto from a single value; set its fields as "req.field"`},
		{"req.label=x", `form: field "req.label": invalid value "x" for enum google.protobuf.FieldDescriptorProto.Label`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var q Query
			err := form.DecodeValues(&q, mustParse(t, tt.query))
			if err == nil || err.Error() != tt.want {
				t.Errorf("DecodeValues(%q) error\n got %v\nwant %s", tt.query, err, tt.want)
			}
		})
	}
	// A failed key in the middle of a path allocates nothing.
	var q Query
	if err := form.DecodeValues(&q, url.Values{"work.nope": {"1"}}); err != nil || q.Work != nil {
		t.Errorf("unknown nested key: got %+v, %v", q.Work, err)
	}
}

func TestDecodeTargets(t *testing.T) {
	vals := url.Values{"a": {"1"}}
	var n int
	var s struct{ A int }
	var ps *struct{ A int }
	for _, tt := range []struct {
		v       any
		wantErr string
	}{
		{nil, "form: cannot decode into <nil>: want a non-nil pointer to a struct or a proto.Message"},
		{s, "form: cannot decode into struct { A int }: want a non-nil pointer to a struct or a proto.Message"},
		{&n, "form: cannot decode into *int: want a non-nil pointer to a struct or a proto.Message"},
		{(*struct{ A int })(nil), "form: cannot decode into *struct { A int }: want a non-nil pointer to a struct or a proto.Message"},
		{url.Values(nil), "form: cannot decode into nil url.Values"},
		{&s, ""},
		{&ps, ""},
	} {
		err := form.DecodeValues(tt.v, vals)
		if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
			t.Errorf("DecodeValues(%T): got %v, want %q", tt.v, err, tt.wantErr)
		}
	}
	if s.A != 1 || ps == nil || ps.A != 1 {
		t.Errorf("got %+v %+v", s, ps)
	}

	var uv url.Values
	if err := form.DecodeValues(&uv, vals); err != nil || uv.Get("a") != "1" {
		t.Errorf("*url.Values: got %v, %v", uv, err)
	}
	if err := form.DecodeValues(uv, vals); err != nil || len(uv["a"]) != 2 {
		t.Errorf("url.Values: got %v, %v", uv, err)
	}
}

func TestEncodeStruct(t *testing.T) {
	zip, five := 13, 5
	pfive := &five
	q := Query{
		Base: Base{ID: 7}, extra: extra{Note: "n"},
		Name: "a&b", Page: 2, Ratio: 0.1, Level: 4,
		Tags: []string{"x", ""}, IDs: []int{1}, OptInt: &pfive,
		Since:   time.Date(2024, 5, 1, 10, 0, 0, 5, time.FixedZone("", 2*3600)),
		Timeout: 1500 * time.Millisecond, IP: netip.MustParseAddr("::1"), Raw: []byte{0xfb, 0xff},
		Home: Address{City: "Paris", Zip: &zip}, Labels: map[string]string{"k.1": "v"}, Scores: map[int]float64{2: 0.5},
		Created: timestamppb.New(time.Unix(0, 0)), TTLs: []*durationpb.Duration{durationpb.New(time.Second), nil},
		Req:  &descriptorpb.FieldDescriptorProto{Name: proto.String("f")},
		Skip: "x", JSONSkip: "x",
	}
	got, err := form.EncodeValues(q) // a struct value, not a pointer
	if err != nil {
		t.Fatal(err)
	}
	want := "Created=1970-01-01T00%3A00%3A00Z&Note=n&Req.name=f&active=false&home.city=Paris&home.zip=13&id=7&ids=1" +
		"&ip=%3A%3A1&labels%5Bk.1%5D=v&level=4&name=a%26b&opt_int=5&owner=&page=2&ratio=0.1&raw=-_8" +
		"&scores%5B2%5D=0.5&since=2024-05-01T10%3A00%3A00.000000005%2B02%3A00&tags=x&tags=&timeout=1.5s" +
		"&ttls=1s"
	if got.Encode() != want {
		t.Errorf("EncodeValues\n got %s\nwant %s", got.Encode(), want)
	}
	// And back.
	var back Query
	if err := form.DecodeValues(&back, got); err != nil {
		t.Fatal(err)
	}
	again, err := form.EncodeValues(&back)
	if err != nil || again.Encode() != want {
		t.Errorf("round trip\n got %s, %v\nwant %s", again.Encode(), err, want)
	}
}

type node struct {
	Name string
	Next *node
}

func TestEncodeStructErrors(t *testing.T) {
	n := &node{Name: "loop"}
	n.Next = n
	if _, err := form.EncodeValues(n); err == nil || !strings.Contains(err.Error(), "pointer cycle") {
		t.Errorf("cycle: got %v", err)
	}
	type M struct{ M map[string]int }
	if _, err := form.EncodeValues(M{M: map[string]int{"a].b": 1}}); err == nil ||
		err.Error() != `form: field "M": map key "a].b" cannot be written as a form key` {
		t.Errorf("bad map key: got %v", err)
	}
	if _, err := form.EncodeValues(3); err == nil || err.Error() != "form: cannot encode int: want a struct or a proto.Message" {
		t.Errorf("int: got %v", err)
	}
	if got, err := form.EncodeValues((*node)(nil)); err != nil || len(got) != 0 {
		t.Errorf("nil pointer: got %v, %v", got, err)
	}
	if got, err := form.EncodeValues(url.Values{"a": {"1"}}); err != nil || got.Encode() != "a=1" {
		t.Errorf("url.Values: got %v, %v", got, err)
	}
	// Proto messages behind pointers to pointers.
	sv := wrapperspb.String("x")
	if got, err := form.EncodeValues(&sv); err != nil || got.Encode() != "value=x" {
		t.Errorf("**StringValue: got %v, %v", got, err)
	}
}
