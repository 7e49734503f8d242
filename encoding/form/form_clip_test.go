package form

import (
	"net/url"
	"strings"
	"testing"
)

func TestLongKeyIsClippedInErrors(t *testing.T) {
	type target struct {
		A map[string]int `form:"a"`
	}
	key := "a[" + strings.Repeat("k", 10000) + "]"
	err := DecodeValues(&target{}, url.Values{key: {"not-a-number"}})
	if err == nil {
		t.Fatal("bad value accepted")
	}
	if !strings.Contains(err.Error(), "...") || len(err.Error()) > 512 {
		t.Fatalf("error echoes %d bytes of input: %.80s...", len(err.Error()), err)
	}
}
