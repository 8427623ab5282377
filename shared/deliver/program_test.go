package deliver_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

func compile(t testing.TB, kind, src string) *deliver.Program {
	t.Helper()
	p, err := deliver.CompileProgram(kind, src)
	if err != nil {
		t.Fatalf("compile %s %q: %v", kind, src, err)
	}
	return p
}

func document(t testing.TB, ev store.Event) map[string]any {
	t.Helper()
	doc, err := deliver.Document(ev)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// transformJSON runs a transform on ev's document and decodes its output.
func transformJSON(t *testing.T, src string, ev store.Event) any {
	t.Helper()
	out, perr := compile(t, deliver.KindTransform, src).Transform(t.Context(), document(t, ev), 1<<20)
	if perr != nil {
		t.Fatalf("transform %q: %v", src, perr)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("transform %q output %q is not JSON: %v", src, out, err)
	}
	return v
}

// A syntax error refuses the destination, naming it and the position in the
// program; so does a program that calls what does not exist here.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name, filter, transform string
		want                    []string
	}{
		{"filter syntax", `.provider == "tomba" and`, "", []string{"destination hot: filter: syntax error at line 1, column 25", "unexpected EOF"}},
		{"transform syntax, second line", "", "{text: .id,\n  x: (.a | }", []string{"destination hot: transform: syntax error at line 2, column 12", `unexpected token "}"`}},
		{"unterminated string", `.type == "lead`, "", []string{"filter: syntax error at line 1, column 15", "unterminated string"}},
		{"unknown function", "", "{t: frobnicate}", []string{"destination hot: transform:", "function not defined: frobnicate/0"}},
		// debug and stderr exist only in the gojq command line; here they
		// do not compile, so a program can never write to a log.
		{"debug", "", ".data | debug", []string{"function not defined: debug/0"}},
		{"debug with message", "", `.data | debug("x")`, []string{"function not defined: debug/1"}},
		{"stderr", "", ".data | stderr", []string{"function not defined: stderr/0"}},
		{"input_filename", "", "input_filename", []string{"function not defined: input_filename/0"}},
		{"import a module", "", `import "secrets" as s; .`, []string{"cannot load module"}},
		{"include a module", "", `include "secrets"; .`, []string{"cannot load module"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := config.Destination{Name: "hot", Type: "http", Filter: c.filter, Transform: c.transform}
			_, err := deliver.CompilePrograms(d)
			if err == nil {
				t.Fatal("compiled")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A transform reads nothing but the event document: not the process
// environment (on Lambda, the function's AWS credentials), not another
// input.
func TestProgramReadsOnlyTheDocument(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("HOOKLINE_TEST_SECRET", "s3cr3t")
	ev := testEvent("01JSANDBOX")
	for _, c := range []struct {
		src  string
		want any
	}{
		{"env", map[string]any{}},
		{"$ENV", map[string]any{}},
		{"{k: env.AWS_SECRET_ACCESS_KEY, h: $ENV.HOOKLINE_TEST_SECRET, p: env.PATH}", map[string]any{"k": nil, "h": nil, "p": nil}},
		{"[env, $ENV | length]", []any{0.0, 0.0}},
		{"[inputs]", []any{}},
		{"[.id, (inputs | tostring)]", []any{"01JSANDBOX"}},
		{"first(inputs) // .id", "01JSANDBOX"},
		{"try input catch .", "break"}, // gojq's word for "no more input"
		{"[limit(3; repeat(.id))] | length", 3.0},
	} {
		if got := transformJSON(t, c.src, ev); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.src, got, c.want)
		}
	}
	// input with no catch: a run-time error, with a message that says why.
	_, perr := compile(t, deliver.KindTransform, "{a: input}").Transform(t.Context(), document(t, ev), 1<<20)
	if perr == nil || !strings.Contains(perr.Error(), "no input but the event document") {
		t.Errorf("input = %v, want an error about input", perr)
	}
}

// Nothing a program does reaches the process's stderr or stdout (where the
// logs go): every program of the tests above and here runs with both
// captured.
func TestProgramsWriteNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldErr, oldOut := os.Stderr, os.Stdout
	os.Stderr, os.Stdout = w, w
	defer func() { os.Stderr, os.Stdout = oldErr, oldOut }()
	doc := document(t, testEvent("01JQUIET"))
	for _, src := range []string{
		`.data | tojson | error`, `halt_error`, `halt_error(1)`, `"x" | halt_error`, `try error(.data) catch .`,
		`[.data, $__loc__, now, input_line_number?]`, `builtins | length`, `{a: .data} | tostream`, `halt`,
	} {
		p, err := deliver.CompileProgram(deliver.KindTransform, src)
		if err != nil {
			continue // refused at compile time: also fine
		}
		_, _ = p.Transform(context.Background(), doc, 1<<20)
	}
	os.Stderr, os.Stdout = oldErr, oldOut
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("programs wrote %q to stdout/stderr", out)
	}
}

// A filter yields exactly one boolean; a transform exactly one value.
// Anything else is an error with a message that names the problem, and
// quotes event data at most in gojq's 30-byte previews.
func TestRunErrors(t *testing.T) {
	ev := testEvent("01JRUNERR")
	doc := document(t, ev)
	long := strings.Repeat("y", 5000)
	for _, c := range []struct {
		kind, src string
		want      string
	}{
		{deliver.KindFilter, `.data.data.name`, "filter: produced a string, not true or false"},
		{deliver.KindFilter, `1`, "filter: produced a number, not true or false"},
		{deliver.KindFilter, `.missing`, "filter: produced null, not true or false"},
		{deliver.KindFilter, `{a: true}`, "filter: produced an object, not true or false"},
		{deliver.KindFilter, `empty`, "filter: produced no value; it must produce exactly one"},
		{deliver.KindFilter, `true, false`, "filter: produced more than one value"},
		{deliver.KindFilter, `.data.data.name | test(1)`, "filter: test(1; null) cannot be applied to: string"},
		{deliver.KindFilter, `halt`, "filter: produced no value"},
		{deliver.KindTransform, `.data[]`, "transform: produced more than one value"},
		{deliver.KindTransform, `.data.data.name | .first`, `transform: expected an object but got: string ("Zoë <Q> & co")`},
		{deliver.KindTransform, `.data + 1`, `transform: cannot add: object ({"data":{"email":"zoe@exa ...}) and number (1)`},
		{deliver.KindTransform, `error("no email for \(.id)")`, "transform: error: no email for 01JRUNERR"},
		{deliver.KindTransform, `error(.data)`, `transform: error: {"data":{"email":"zoe@exa ...}`},
		{deliver.KindTransform, `.data | halt_error`, `transform: halt_error: {"data":{"email":"zoe@exa ...}`},
		{deliver.KindTransform, `error(null)`, "transform: error: null"},
		{deliver.KindTransform, `error("` + long + `")`, "transform: error: yyyy"},
	} {
		t.Run(c.src, func(t *testing.T) {
			p := compile(t, c.kind, c.src)
			var perr *deliver.ProgramError
			if c.kind == deliver.KindFilter {
				_, perr = p.Filter(t.Context(), doc)
			} else {
				_, perr = p.Transform(t.Context(), doc, 1<<20)
			}
			if perr == nil {
				t.Fatal("no error")
			}
			msg := perr.Error()
			if !strings.HasPrefix(msg, c.want) {
				t.Errorf("error = %q, want it to start with %q", msg, c.want)
			}
			if len(msg) > store.MaxErrorLen {
				t.Errorf("error is %d bytes, over %d", len(msg), store.MaxErrorLen)
			}
			if perr.Stopped || perr.Class() != c.kind+"_error" {
				t.Errorf("Stopped %v, class %q", perr.Stopped, perr.Class())
			}
			// The whole body is never in a message (only previews).
			if strings.Contains(msg, "zoe@example.com") {
				t.Errorf("error %q quotes the event body", msg)
			}
		})
	}
}

// A program that never ends is stopped at EvalTimeout; one cut short by
// its caller is Stopped (not the program's fault).
func TestRunawayProgramsStop(t *testing.T) {
	doc := document(t, testEvent("01JRUNAWAY"))
	for _, src := range []string{
		`def f: f; f`,           // loops without output
		`[range(infinite)]`,     // grows without end
		`last(range(infinite))`, // consumes without end
		`.id, (def f: f; f)`,    // one value, then never ends while we look for a second
		`def f: [f]; {x: f}`,    // deep recursion
		`reduce repeat(1) as $x (0; . + $x)`,
	} {
		t.Run(src, func(t *testing.T) {
			start := time.Now()
			_, perr := compile(t, deliver.KindTransform, src).Transform(t.Context(), doc, 1<<20)
			took := time.Since(start)
			if perr == nil || perr.Stopped || !strings.Contains(perr.Error(), "stopped after running for its bound") {
				t.Fatalf("error = %v (stopped %v), want stopped at the bound", perr, perr != nil && perr.Stopped)
			}
			if took < deliver.EvalTimeout || took > deliver.EvalTimeout+5*time.Second {
				t.Errorf("stopped after %v, bound %v", took, deliver.EvalTimeout)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, perr := compile(t, deliver.KindFilter, `def f: f; f`).Filter(ctx, doc)
	if perr == nil || !perr.Stopped {
		t.Errorf("canceled run = %v, want Stopped", perr)
	}
}

// Output over the limit is refused, whether a single huge value (refused
// before it is encoded) or many small ones.
func TestTransformOutputLimit(t *testing.T) {
	doc := document(t, testEvent("01JLIMIT"))
	for _, src := range []string{
		`"x" * 2000000`,                    // one value: refused before it is encoded
		`[limit(3; repeat("x" * 400000))]`, // the same, in an array
		`{a: "\u0001" * 300000}`,           // 300 kB as a string, 1.8 MB encoded
	} {
		_, perr := compile(t, deliver.KindTransform, src).Transform(t.Context(), doc, 1<<20)
		if perr == nil || !strings.Contains(perr.Error(), "over the destination's limit of 1048576 bytes") {
			t.Errorf("%s: error = %v, want over the limit", src, perr)
		}
	}
	out, perr := compile(t, deliver.KindTransform, `"x" * 1000`).Transform(t.Context(), doc, 1002)
	if perr != nil || len(out) != 1002 {
		t.Errorf("exactly at the limit: %d bytes, %v", len(out), perr)
	}
	if _, perr := compile(t, deliver.KindTransform, `"x" * 1001`).Transform(t.Context(), doc, 1002); perr == nil {
		t.Error("one byte over the limit passed")
	}
}

// The document: every field, numbers kept digit for digit, and never
// modified by a program.
func TestDocument(t *testing.T) {
	ev := testEvent("01JDOC")
	ev.Raw = []byte(`{"id":"evt_1","n":12345678901234567890123,"f":1.50,"data":{"email":"zoe@example.com"}}`)
	doc := document(t, ev)
	got := transformJSON(t, `del(.data, .normalized)`, ev)
	want := map[string]any{
		"id": "01JDOC", "type": "leadron.lead.created", "provider": "leadron", "source": "hookline/leadron",
		"time": "2025-11-25T14:03:05.123456789Z", "subject": "lead_42", "tenant": "acme",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document = %#v, want %#v", got, want)
	}
	out, _ := compile(t, deliver.KindTransform, `[.data.n, .data.f, .data.n + 0 > 1e22]`).Transform(t.Context(), doc, 1<<20)
	if string(out) != `[12345678901234567890123,1.50,true]` {
		t.Errorf("numbers = %s", out)
	}
	out, _ = compile(t, deliver.KindTransform, `.normalized.lead.email`).Transform(t.Context(), doc, 1<<20)
	if string(out) != `"zoe@example.com"` {
		t.Errorf("normalized = %s", out)
	}
	before, _ := json.Marshal(doc)
	for _, src := range []string{`.data.data.email = "x"`, `del(.data.data)`, `.data |= with_entries(.value = 1)`, `.tenant += "x"`, `.normalized.lead |= . + {a: 1}`} {
		compile(t, deliver.KindTransform, src).Transform(t.Context(), doc, 1<<20)
	}
	if after, _ := json.Marshal(doc); string(after) != string(before) {
		t.Errorf("a program modified the shared document:\n%s\n%s", before, after)
	}

	bare := ev
	bare.EntityID, bare.Tenant, bare.Normalized, bare.OccurredAt = "", "", nil, time.Time{}
	got = transformJSON(t, `[.subject, .tenant, .normalized, .time]`, bare)
	if !reflect.DeepEqual(got, []any{nil, nil, nil, "2025-11-25T14:03:07.123456789Z"}) {
		t.Errorf("bare event = %#v", got)
	}
	// As deep as encoding/json goes (ingest's parsers), and no deeper.
	for _, depth := range []int{9999, 10000, 10001, 20000} {
		deep := ev
		deep.Raw = []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		if _, err := deliver.Document(deep); (err == nil) != json.Valid(deep.Raw) {
			t.Errorf("depth %d: Document error %v, encoding/json valid %v", depth, err, json.Valid(deep.Raw))
		}
	}
	for _, raw := range []string{`{"a":`, "{\"a\":\"\xff\"}", `{"a":1} {"b":2}`, `nope`} {
		bad := ev
		bad.Raw = []byte(raw)
		if _, err := deliver.Document(bad); err == nil {
			t.Errorf("Document with body %q: no error", raw)
		}
	}
}
