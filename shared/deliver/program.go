package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"github.com/hookline/hookline/shared/store"
)

// Filters and transforms are jq, run by github.com/itchyny/gojq: this file
// only compiles a program with the options that shut it in, and runs it with
// bounds. It adds no language of its own.

// EvalTimeout bounds each run of a filter or a transform. A real program
// takes microseconds; one that loops is stopped here (gojq checks the
// context between instructions), and that is a permanent failure, like any
// other error of the program. The bound also caps the memory a runaway
// program can take (measured here: [range(infinite)] reaches about 10 MB of
// heap in 250 ms, 32 MB in 1 s; the non-tail recursion def f: [f]; f about
// 50 MB in 250 ms).
const EvalTimeout = 500 * time.Millisecond

// Program kinds.
const (
	KindFilter    = "filter"
	KindTransform = "transform"
)

// Program is one compiled jq program: a destination's filter or transform.
// It is safe for concurrent use.
//
// A program can read nothing but the event document it is run on:
//
//   - env and $ENV are empty objects (gojq.WithEnvironLoader with no
//     variables: gojq would otherwise read the process environment, which
//     on Lambda holds the function's AWS credentials);
//   - input and inputs have nothing to read (gojq.WithInputIter with an
//     empty iterator): [inputs] is [], input is an error;
//   - debug, stderr, input_filename and modules (import, include) do not
//     exist: gojq's library leaves debug and stderr to the command line's
//     own functions (gojq/cli registers them with WithFunction), and no
//     function or module loader is given here, so a program that uses them
//     does not compile, and nothing a program does is ever written to a log.
//
// Every run is bounded by EvalTimeout, and a transform's output by the
// destination's body limit (see Transform).
type Program struct {
	kind string
	code *gojq.Code
}

// emptyIter is the input iterator of every program: there is no input but
// the document.
type emptyIter struct{}

func (emptyIter) Next() (any, bool) { return nil, false }

// compilerOptions shut a program in (see Program).
var compilerOptions = []gojq.CompilerOption{
	gojq.WithEnvironLoader(func() []string { return nil }),
	gojq.WithInputIter(emptyIter{}),
}

// CompileProgram parses and compiles src, a filter or a transform (kind).
// A syntax error says where: "line L, column C" of src, counted from 1
// (columns in characters).
func CompileProgram(kind, src string) (*Program, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			line, col := position(src, pe.Offset-len(pe.Token))
			return nil, fmt.Errorf("%s: syntax error at line %d, column %d: %s", kind, line, col, pe.Error())
		}
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	code, err := gojq.Compile(q, compilerOptions...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &Program{kind: kind, code: code}, nil
}

// position turns a byte offset in src into a line and a column (both from 1).
func position(src string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(src))
	before := src[:offset]
	line = 1 + strings.Count(before, "\n")
	col = 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	return line, col
}

// ProgramError is a failed run of a filter or a transform. Its message is
// safe to store with the delivery state: see Message.
type ProgramError struct {
	Kind string // KindFilter or KindTransform
	// Stopped: the caller's context ended first (the processor stopping,
	// or the attempt's own deadline when it is shorter than EvalTimeout):
	// not the program's fault, and not permanent.
	Stopped bool
	msg     string
}

// maxProgramMessage bounds what is kept of a jq error's text, so the whole
// message ("transform: " + it) fits store.MaxErrorLen.
const maxProgramMessage = store.MaxErrorLen - len(KindTransform) - 2

func (e *ProgramError) Error() string { return e.Kind + ": " + e.msg }

// Class is the error class recorded for the failed attempt.
func (e *ProgramError) Class() string { return e.Kind + "_error" }

func (p *Program) fail(format string, args ...any) *ProgramError {
	return &ProgramError{Kind: p.kind, msg: cut(fmt.Sprintf(format, args...), maxProgramMessage)}
}

// runError turns what gojq emitted as an error into a ProgramError.
//
// How much of the jq error is kept: gojq's own messages quote values only
// through gojq.Preview, at most 30 bytes each ("cannot iterate over: string
// (\"jane@acme.c ...\")"); a program's own error(v) keeps v when it is a
// string (the author chose that text) and only its 30-byte preview
// otherwise; halt_error the same. The message is then cut to 240 bytes. It
// is stored with the destination's delivery state (beside the event body it
// came from) and printed by hookline transform, never logged: the processor
// logs the class only (filter_error, transform_error).
func (p *Program) runError(run context.Context, err error) *ProgramError {
	switch cause := context.Cause(run); {
	case cause == errEvalBound:
		return p.fail("stopped after running for its bound of %v (does it loop?)", EvalTimeout)
	case cause != nil:
		return &ProgramError{Kind: p.kind, Stopped: true, msg: "stopped: " + cause.Error()}
	}
	var ve gojq.ValueError
	if errors.As(err, &ve) {
		halt := ""
		if _, ok := err.(*gojq.HaltError); ok {
			halt = "halt_"
		}
		switch v := ve.Value().(type) {
		case string:
			return p.fail("%serror: %s", halt, v)
		case nil:
			return p.fail("%serror: null (not a string)", halt)
		default:
			return p.fail("%serror: %s", halt, gojq.Preview(v))
		}
	}
	if err.Error() == "break" { // gojq's input, when there is none
		return p.fail("input: there is no input but the event document")
	}
	return p.fail("%s", err.Error())
}

// run runs the program on doc and returns its one value: no value, or a
// second one, is an error (a filter must decide, a transform must make one
// body). gojq never modifies doc, so one document can be shared by
// concurrent runs.
func (p *Program) run(ctx context.Context, doc any) (any, *ProgramError) {
	rctx, cancel := context.WithTimeoutCause(ctx, EvalTimeout, errEvalBound)
	defer cancel()
	iter := p.code.RunWithContext(rctx, doc)
	v, ok := iter.Next()
	if !ok || isHalt(v) {
		return nil, p.fail("produced no value; it must produce exactly one")
	}
	if err, isErr := v.(error); isErr {
		return nil, p.runError(rctx, err)
	}
	w, more := iter.Next()
	if more && !isHalt(w) {
		if err, isErr := w.(error); isErr {
			return nil, p.runError(rctx, err)
		}
		return nil, p.fail("produced more than one value; it must produce exactly one (collect several with [...])")
	}
	return v, nil
}

// errEvalBound is the cause of a run's end at EvalTimeout.
var errEvalBound = errors.New("the evaluation bound")

// isHalt reports a bare halt: the end of the output, not an error.
func isHalt(v any) bool {
	h, ok := v.(*gojq.HaltError)
	return ok && h.Value() == nil
}

// Filter runs a filter on doc: it must produce exactly one value, true or
// false.
func (p *Program) Filter(ctx context.Context, doc any) (bool, *ProgramError) {
	v, err := p.run(ctx, doc)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		// The type only: the value may be event data.
		return false, p.fail("produced %s, not true or false", jqType(v))
	}
	return b, nil
}

// Transform runs a transform on doc: it must produce exactly one value,
// returned as JSON (gojq's encoding: object keys sorted), of at most limit
// bytes.
func (p *Program) Transform(ctx context.Context, doc any, limit int) ([]byte, *ProgramError) {
	v, err := p.run(ctx, doc)
	if err != nil {
		return nil, err
	}
	// A lower bound first: a huge value is refused before it is encoded.
	if n := minJSONSize(v, limit); n > limit {
		return nil, p.fail("output is over the destination's limit of %d bytes", limit)
	}
	b, merr := gojq.Marshal(v)
	if merr != nil {
		return nil, p.fail("output cannot be encoded as JSON")
	}
	if len(b) > limit {
		return nil, p.fail("output is %d bytes, over the destination's limit of %d bytes", len(b), limit)
	}
	return b, nil
}

// minJSONSize is a lower bound of the size of v's JSON encoding; it stops
// counting once the bound passes limit.
func minJSONSize(v any, limit int) int {
	switch v := v.(type) {
	case string:
		return len(v) + 2
	case []any:
		n := 1 + len(v)
		for _, x := range v {
			if n += minJSONSize(x, limit-n); n > limit {
				break
			}
		}
		return n
	case map[string]any:
		n := 1 + len(v)
		for k, x := range v {
			if n += len(k) + 3 + minJSONSize(x, limit-n); n > limit {
				break
			}
		}
		return n
	case nil:
		return 4
	}
	return 1
}

// jqType names v's jq type ("an object", "a string", …).
func jqType(v any) string {
	switch t := gojq.TypeOf(v); t {
	case "object", "array":
		return "an " + t
	case "null":
		return "null"
	default:
		return "a " + t
	}
}

// cut returns s cut to at most n bytes of valid UTF-8, marked with "…".
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const mark = "…"
	s = s[:n-len(mark)]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + mark
}
