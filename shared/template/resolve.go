package template

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrUnresolvable marks a value known only once the stack exists: a
// resource's Ref or attribute (a table name, a queue URL).
var ErrUnresolvable = errors.New("known only in a deployed stack")

// Pseudo parameters used when params does not set them.
var pseudoDefaults = map[string]string{
	"AWS::Region":    "us-east-1",
	"AWS::AccountId": "123456789012",
	"AWS::StackName": "hookline",
	"AWS::Partition": "aws",
	"AWS::URLSuffix": "amazonaws.com",
	"AWS::NoValue":   "",
}

// Resolve returns v as a string: a plain value, or an intrinsic function
// made of Ref (parameters and pseudo parameters), Fn::Sub, Fn::Join and
// Fn::If with the template's conditions. params overrides parameter
// defaults and pseudo parameters ("AWS::Region"). A resource's Ref or
// Fn::GetAtt gives an error wrapping ErrUnresolvable.
func (t *Template) Resolve(v any, params map[string]string) (string, error) {
	return resolver{t, params}.str(v)
}

type resolver struct {
	t      *Template
	params map[string]string
}

func (r resolver) str(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case map[string]any:
		if !isIntrinsic(x) {
			break
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return r.ref(name)
			case "Fn::Sub":
				return r.sub(arg)
			case "Fn::Join":
				return r.join(arg)
			case "Fn::If":
				args, _ := arg.([]any)
				if len(args) != 3 {
					return "", fmt.Errorf("Fn::If needs [condition, then, else]")
				}
				name, _ := args[0].(string)
				ok, err := r.condition(name)
				if err != nil {
					return "", err
				}
				if ok {
					return r.str(args[1])
				}
				return r.str(args[2])
			case "Fn::GetAtt":
				return "", fmt.Errorf("Fn::GetAtt %v: %w", arg, ErrUnresolvable)
			}
			return "", fmt.Errorf("%s is not resolved locally", fn)
		}
	}
	return "", fmt.Errorf("%v is not a string", v)
}

// ref resolves a Ref to a parameter or pseudo parameter.
func (r resolver) ref(name string) (string, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	if v, ok := pseudoDefaults[name]; ok {
		return v, nil
	}
	if p, ok := r.t.Parameters[name]; ok {
		if p.Default == nil {
			return "", fmt.Errorf("parameter %s has no default and no value", name)
		}
		return r.str(p.Default)
	}
	if _, ok := r.t.Resources[name]; ok {
		return "", fmt.Errorf("Ref %s: %w", name, ErrUnresolvable)
	}
	return "", fmt.Errorf("Ref %s: no such parameter or resource", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub resolves Fn::Sub: "text" or ["text", {var: value}].
func (r resolver) sub(arg any) (string, error) {
	text, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return "", fmt.Errorf("Fn::Sub needs text or [text, variables]")
		}
		text, _ = a[0].(string)
		vars, _ = a[1].(map[string]any)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal}
		}
		var s string
		var err error
		switch v, ok := vars[name]; {
		case ok:
			s, err = r.str(v)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			err = fmt.Errorf("${%s}: %w", name, ErrUnresolvable)
		default:
			s, err = r.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return s
	})
	return out, firstErr
}

// join resolves Fn::Join: [delimiter, [values]] or [delimiter, Ref list].
func (r resolver) join(arg any) (string, error) {
	a, _ := arg.([]any)
	if len(a) != 2 {
		return "", fmt.Errorf("Fn::Join needs [delimiter, values]")
	}
	delim, _ := a[0].(string)
	items, ok := a[1].([]any)
	if !ok {
		// A Ref to a CommaDelimitedList parameter: its value is the list joined by commas.
		s, err := r.str(a[1])
		if err != nil {
			return "", err
		}
		return strings.ReplaceAll(s, ",", delim), nil
	}
	parts := make([]string, len(items))
	for i, it := range items {
		s, err := r.str(it)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return strings.Join(parts, delim), nil
}

// Condition evaluates one of the template's conditions with params (as
// Resolve takes them).
func (t *Template) Condition(name string, params map[string]string) (bool, error) {
	return resolver{t, params}.condition(name)
}

// condition evaluates a named condition.
func (r resolver) condition(name string) (bool, error) {
	c, ok := r.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %q", name)
	}
	return r.eval(c)
}

func (r resolver) eval(c any) (bool, error) {
	m, _ := c.(map[string]any)
	if !isIntrinsic(m) {
		return false, fmt.Errorf("condition %v is not a condition function", c)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return r.condition(name)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals needs two values")
			}
			a, err := r.str(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.str(args[1])
			return a == b, err
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not needs one condition")
			}
			ok, err := r.eval(args[0])
			return !ok, err
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				ok, err := r.eval(a)
				if err != nil {
					return false, err
				}
				if ok != and {
					return ok, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s is not a condition function", fn)
	}
	return false, nil
}
