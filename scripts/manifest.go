package scripts

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tes-project/tes/flow"
	yaml "go.yaml.in/yaml/v4"
)

// ManifestFile is the name of the manifest in an issuer folder.
const ManifestFile = "issuer.yaml"

// Defaults of a manifest that leaves them out.
const (
	DefaultTTL         = 60 * time.Second
	DefaultStepTimeout = 50 * time.Millisecond
	maxStepTimeout     = 5 * time.Second
)

// Default rules of an operation, for requests that name none.
const (
	defaultAlways          = "always"
	defaultWithPurchase    = "withPurchase"
	defaultWithoutPurchase = "withoutPurchase"
)

// manifest is the plain decoded issuer.yaml; the loader checks it against
// the flows and compiles its conditions.
type manifest struct {
	ID          string
	SystemCode  uint16
	WithoutLEN  bool
	TTL         time.Duration
	StepTimeout time.Duration
	Settings    map[string]int
	Params      map[string]any
	ParamLines  map[string]int
	Quirks      []quirkSpec
	Libraries   []fileRef
	Operations  []operationSpec
}

type fileRef struct {
	Path string
	Line int
}

type quirkSpec struct {
	Name     string
	When     string
	Line     int
	Set      map[string]any
	SetLines map[string]int
}

type operationSpec struct {
	Name     string
	Endpoint flow.Endpoint
	Flow     fileRef
	Aliases  []string
	Default  string
	Line     int
}

// manifestReader decodes issuer.yaml node by node so that every problem
// names its line and unknown keys are rejected.
type manifestReader struct {
	file string
	ps   *problems
}

func decodeManifest(file string, data []byte, ps *problems) (manifest, bool) {
	m := manifest{
		TTL:         DefaultTTL,
		StepTimeout: DefaultStepTimeout,
		Settings:    map[string]int{},
		Params:      map[string]any{},
		ParamLines:  map[string]int{},
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.add(file, yamlErrorLine(err), "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return m, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		ps.add(file, 1, "empty manifest")
		return m, false
	}
	r := manifestReader{file: file, ps: ps}
	before := len(ps.list)
	r.mapping(doc.Content[0], func(key string, v *yaml.Node) {
		switch key {
		case "id":
			m.ID = r.str(v)
		case "systemCode":
			m.SystemCode = r.hex16(v)
		case "framing":
			switch r.str(v) {
			case "LEN":
			case "NOLEN":
				m.WithoutLEN = true
			default:
				r.fail(v, "framing %q: want LEN or NOLEN", v.Value)
			}
		case "ttl":
			m.TTL = r.duration(v, time.Second, 24*time.Hour)
		case "stepTimeout":
			m.StepTimeout = r.duration(v, time.Millisecond, maxStepTimeout)
		case "settings":
			r.mapping(v, func(k string, sv *yaml.Node) { m.Settings[k] = r.integer(sv) })
		case "params":
			r.mapping(v, func(k string, pv *yaml.Node) {
				m.Params[k] = r.scalar(pv)
				m.ParamLines[k] = pv.Line
			})
		case "quirks":
			r.sequence(v, func(q *yaml.Node) { m.Quirks = append(m.Quirks, r.quirk(q)) })
		case "libraries":
			r.sequence(v, func(l *yaml.Node) { m.Libraries = append(m.Libraries, fileRef{Path: r.str(l), Line: l.Line}) })
		case "operations":
			r.sequence(v, func(o *yaml.Node) { m.Operations = append(m.Operations, r.operation(o)) })
		default:
			r.fail(v, "unknown key %q", key)
		}
	})
	if m.ID == "" {
		r.fail(doc.Content[0], "missing id")
	}
	if len(m.Operations) == 0 {
		r.fail(doc.Content[0], "no operations")
	}
	return m, len(ps.list) == before
}

func (r manifestReader) quirk(n *yaml.Node) quirkSpec {
	q := quirkSpec{Line: n.Line, Set: map[string]any{}, SetLines: map[string]int{}}
	r.mapping(n, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			q.Name = r.str(v)
		case "when":
			q.When, q.Line = r.str(v), v.Line
		case "set":
			r.mapping(v, func(k string, sv *yaml.Node) {
				q.Set[k] = r.scalar(sv)
				q.SetLines[k] = sv.Line
			})
		default:
			r.fail(v, "quirk: unknown key %q", key)
		}
	})
	if q.When == "" {
		r.fail(n, "quirk %q: missing when", q.Name)
	}
	return q
}

func (r manifestReader) operation(n *yaml.Node) operationSpec {
	o := operationSpec{Line: n.Line}
	r.mapping(n, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			o.Name = r.str(v)
		case "endpoint":
			switch e := flow.Endpoint(r.str(v)); e {
			case flow.EndpointCard, flow.EndpointPark, flow.EndpointReaderMode:
				o.Endpoint = e
			default:
				r.fail(v, "unknown endpoint %q", v.Value)
			}
		case "flow":
			o.Flow = fileRef{Path: r.str(v), Line: v.Line}
		case "aliases":
			r.sequence(v, func(a *yaml.Node) { o.Aliases = append(o.Aliases, r.str(a)) })
		case "default":
			switch d := r.str(v); d {
			case defaultAlways, defaultWithPurchase, defaultWithoutPurchase:
				o.Default = d
			default:
				r.fail(v, "default %q: want %s, %s or %s", d, defaultAlways, defaultWithPurchase, defaultWithoutPurchase)
			}
		default:
			r.fail(v, "operation: unknown key %q", key)
		}
	})
	if o.Name == "" || o.Endpoint == "" || o.Flow.Path == "" {
		r.fail(n, "operation needs name, endpoint and flow")
	}
	return o
}

func (r manifestReader) fail(n *yaml.Node, format string, args ...any) {
	r.ps.add(r.file, n.Line, format, args...)
}

func (r manifestReader) mapping(n *yaml.Node, each func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		r.fail(n, "want a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			r.fail(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		each(k.Value, n.Content[i+1])
	}
}

func (r manifestReader) sequence(n *yaml.Node, each func(v *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		r.fail(n, "want a list")
		return
	}
	for _, v := range n.Content {
		each(v)
	}
}

func (r manifestReader) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		r.fail(n, "want a string")
		return ""
	}
	return n.Value
}

func (r manifestReader) integer(n *yaml.Node) int {
	v, ok := r.scalar(n).(int)
	if !ok {
		r.fail(n, "want an integer, got %q", n.Value)
	}
	return v
}

// scalar turns a YAML scalar into int, bool or string, the types settings
// and quirk parameters may have.
func (r manifestReader) scalar(n *yaml.Node) any {
	if n.Kind != yaml.ScalarNode {
		r.fail(n, "want a number, boolean or string")
		return nil
	}
	switch n.Tag {
	case "!!int":
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			r.fail(n, "integer %q: %v", n.Value, err)
		}
		return int(v)
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	case "!!str":
		return n.Value
	}
	r.fail(n, "unsupported value %q (%s)", n.Value, n.Tag)
	return nil
}

func (r manifestReader) hex16(n *yaml.Node) uint16 {
	v, err := strconv.ParseUint(r.str(n), 16, 16)
	if err != nil || len(n.Value) != 4 {
		r.fail(n, "want 4 hex digits, got %q", n.Value)
	}
	return uint16(v)
}

func (r manifestReader) duration(n *yaml.Node, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(r.str(n))
	if err != nil || d < lo || d > hi {
		r.fail(n, "want a duration between %v and %v, got %q", lo, hi, n.Value)
	}
	return d
}

// yamlErrorLine digs the line out of a YAML syntax error ("yaml: line 3: ...").
func yamlErrorLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	var line int
	if _, scanErr := fmt.Sscanf(msg[i:], "line %d", &line); scanErr != nil {
		return 0
	}
	return line
}
