package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// variableKey annotates a flag with the environment variable it falls back
// to.
const variableKey = "envop/variable"

// withVariable makes the flag name, already defined in fs, fall back to
// variable: its help names the variable, and applyVariables gives it the
// variable's value after parsing. Defaults stay the built-in ones until
// then, so --help never shows the caller's environment.
func withVariable(fs *pflag.FlagSet, name, variable string) {
	f := fs.Lookup(name)
	f.Usage += " [" + variable + "]"
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[variableKey] = []string{variable}
}

// variableOf is the variable a flag falls back to, or "".
func variableOf(f *pflag.Flag) string {
	if v := f.Annotations[variableKey]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// sources says which flags took their value from their variable, for
// messages about the value: flag name to variable.
type sources map[string]string

// applyVariables gives each flag of fs that was not on the command line
// the value of its variable, when that is set and not empty (an empty
// variable counts as unset, as in the original operator). A value the
// flag refuses is an error naming the variable.
func applyVariables(fs *pflag.FlagSet, getenv func(string) string) (sources, error) {
	from := sources{}
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		variable := variableOf(f)
		if variable == "" || f.Changed {
			return
		}
		v := getenv(variable)
		if v == "" {
			return
		}
		// Value.Set leaves the flag unchanged in pflag's eyes: it was not given.
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", variable, v, err))
			return
		}
		from[f.Name] = variable
	})
	return from, errors.Join(errs...)
}

// name names where a flag's value came from, for errors: "--flag", or
// "VARIABLE" when the variable set it.
func (s sources) name(flag string) string {
	if v, ok := s[flag]; ok {
		return v
	}
	return "--" + flag
}

// setting names a flag's value as the user gave it, for errors: "--flag
// VALUE", or "VARIABLE=VALUE" when the variable set it.
func (s sources) setting(flag, value string) string {
	if v, ok := s[flag]; ok {
		return v + "=" + value
	}
	return "--" + flag + " " + value
}

// listValue is a comma-separated list flag: items are trimmed and empty
// ones dropped (the original operator's reading of DOCKER_PULL_SECRETS),
// and repeating the flag adds to the list.
type listValue struct {
	list *[]string
	set  bool
}

func newListValue(p *[]string) *listValue { return &listValue{list: p} }

func (l *listValue) Set(s string) error {
	if !l.set {
		*l.list, l.set = nil, true
	}
	*l.list = append(*l.list, splitList(s)...)
	return nil
}

func (l *listValue) Type() string { return "strings" }

// String is the list comma-separated, "" when empty (which --help then
// shows as no default).
func (l *listValue) String() string { return strings.Join(*l.list, ",") }

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
