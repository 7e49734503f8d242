package env

import (
	"fmt"
	"slices"
	"testing"

	"github.com/zelos-go/zelos/config"
)

func keys(t *testing.T, s config.Source) []string {
	t.Helper()
	kvs, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range kvs {
		if kv.Format != config.FormatEnv {
			t.Errorf("%s has format %q", kv.Key, kv.Format)
		}
		out = append(out, kv.Key+"="+string(kv.Value))
	}
	slices.Sort(out)
	return out
}

func TestPrefixes(t *testing.T) {
	t.Setenv("ZENV_HTTP_ADDR", ":8080")
	t.Setenv("ZENV_page_size", "10")
	t.Setenv("ZENVX_OTHER", "no") // prefix without the separator
	t.Setenv("ZENV_", "empty key")
	t.Setenv("ZOTHER_DB", "x")
	t.Setenv("ZOTHER_EQ", "a=b")
	for _, tc := range []struct {
		prefixes []string
		want     string
	}{
		{[]string{"ZENV"}, "[HTTP_ADDR=:8080 page_size=10]"},
		{[]string{"ZENV_"}, "[HTTP_ADDR=:8080 page_size=10]"},
		{[]string{"ZENV", "ZOTHER_"}, "[DB=x EQ=a=b HTTP_ADDR=:8080 page_size=10]"},
		{[]string{"ZNONE"}, "[]"},
	} {
		if got := fmt.Sprint(keys(t, NewSource(tc.prefixes...))); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.prefixes, got, tc.want)
		}
	}
}

func TestNoPrefixReadsAll(t *testing.T) {
	t.Setenv("ZENV_ALL", "1")
	kvs, err := NewSource().Load()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(kvs, func(kv *config.KeyValue) bool { return kv.Key == "ZENV_ALL" }) {
		t.Error("ZENV_ALL missing")
	}
}

func TestWatchIsNil(t *testing.T) {
	w, err := NewSource("ZENV").Watch()
	if w != nil || err != nil {
		t.Errorf("Watch = %v, %v", w, err)
	}
}
