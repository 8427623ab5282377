package provider_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/provider"
)

type body struct {
	Name provider.String                `json:"name"`
	Tags provider.List[provider.String] `json:"tags"`
	N    int                            `json:"n"`
}

// TestDecodeJSON: each refusal wraps its sentinel and its message carries
// no body content (jsontext's own messages quote member names).
func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{``, provider.ErrEmptyBody},
		{" \n\t", provider.ErrEmptyBody},
		{`{"secret_name":1,"secret_name":2}`, provider.ErrMalformedJSON},
		{`{"secret_name":1,"\u0073ecret_name":2}`, provider.ErrMalformedJSON},
		{`{"x":{"secret_name":1,"secret_name":2}}`, provider.ErrMalformedJSON},
		{"{\"secret_name\":\"\xff\"}", provider.ErrMalformedJSON},
		{`{"secret_name":1}}`, provider.ErrMalformedJSON},
		{`{"secret_name":1} {}`, provider.ErrMalformedJSON},
		{`[1,`, provider.ErrMalformedJSON},
		{`{"n":"x","secret_name":}`, provider.ErrMalformedJSON}, // a type error, then bad syntax
		{`[1]`, provider.ErrNotObject},
		{`null`, provider.ErrNotObject},
		{`"secret_name"`, provider.ErrNotObject},
		{`{"n":"secret_name"}`, provider.ErrInvalidPayload},
	} {
		var v body
		err := provider.DecodeJSON([]byte(tc.in), &v)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret_name") {
			t.Errorf("%q: message %q shows body content", tc.in, err)
		}
	}

	var te *provider.TypeError
	if err := provider.DecodeJSON([]byte(`{"n":true}`), &body{}); !errors.As(err, &te) || te.Field() != "n" {
		t.Errorf("type error = %v, want one for field n", err)
	}
}

// TestLenient: String and List take any JSON value, decoding the expected
// kind and leaving the zero value for any other; names match exactly.
func TestLenient(t *testing.T) {
	for in, want := range map[string]body{
		`{"name":"a","tags":["x","y"]}`:          {Name: "a", Tags: provider.List[provider.String]{"x", "y"}},
		`{"name":7,"tags":{"x":1}}`:              {},
		`{"name":null,"tags":[1,"y",null,{}]}`:   {Tags: provider.List[provider.String]{"", "y", "", ""}},
		`{"tags":[]}`:                            {Tags: provider.List[provider.String]{}},
		`{"NAME":"b","Name":"c","name":"a"}`:     {Name: "a"},
		`{"name":["a"],"tags":"x","extra":[{}]}`: {},
	} {
		var v body
		if err := provider.DecodeJSON([]byte(in), &v); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if v.Name != want.Name || len(v.Tags) != len(want.Tags) || (v.Tags == nil) != (want.Tags == nil) {
			t.Errorf("%s: %+v, want %+v", in, v, want)
			continue
		}
		for i := range v.Tags {
			if v.Tags[i] != want.Tags[i] {
				t.Errorf("%s: %+v, want %+v", in, v, want)
			}
		}
	}
}
