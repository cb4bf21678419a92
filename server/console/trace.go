package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
)

// traceData is a session's page: its summary and one card per call.
type traceData struct {
	Session server.SessionSummary
	Calls   []callView
}

// callView is one call of the trace, laid out for reading: the device's
// answers beside the commands they answer, the commands sent, the status,
// the timings, and every other field the trace entry holds (decisions,
// and whatever the engine and the flows record) under its own name.
type callView struct {
	N                int
	At               any
	Step             string
	ElapsedMs        any
	DeviceTimeMs     any
	DeviceStatusCode any
	StatusCode       any
	StatusMessage    string
	Answered         []exchange
	Sent             []server.FrameView
	Other            []field
}

// exchange is a command and the device's answer to it.
type exchange struct {
	CommandID string
	Command   *server.FrameView // nil: not in the previous call's batch
	Answer    server.FrameView
}

// field is a trace entry's field that has no place of its own.
type field struct {
	Name  string
	Value any
}

// shownApart are the trace entry's fields that callView lays out itself.
var shownApart = map[string]bool{
	"at": true, "step": true, "elapsedMs": true, "deviceTimeMs": true, "deviceStatusCode": true,
	"statusCode": true, "statusMessage": true, "responses": true, "commands": true,
}

// fieldOrder puts the fields the reader looks for first; the others follow
// by name.
var fieldOrder = map[string]int{"decisions": 1, "guards": 2, "vars": 3, "variables": 3, "effects": 4, "logs": 5, "log": 5}

func traceOf(v server.SessionView) traceData {
	d := traceData{Session: v.SessionSummary}
	var previous []server.FrameView
	for i, entry := range v.Trace {
		call := callView{
			N: i + 1, At: entry["at"], ElapsedMs: entry["elapsedMs"], DeviceTimeMs: entry["deviceTimeMs"],
			DeviceStatusCode: entry["deviceStatusCode"], StatusCode: entry["statusCode"],
		}
		call.Step, _ = entry["step"].(string)
		call.StatusMessage, _ = entry["statusMessage"].(string)
		sent, _ := entry["commands"].([]server.FrameView)
		answers, _ := entry["responses"].([]server.FrameView)
		call.Sent = sent
		for _, a := range answers {
			ex := exchange{CommandID: a.CommandID, Answer: a}
			for j := range previous {
				if previous[j].CommandID == a.CommandID {
					ex.Command = &previous[j]
				}
			}
			call.Answered = append(call.Answered, ex)
		}
		for name, value := range entry {
			if !shownApart[name] {
				call.Other = append(call.Other, field{Name: name, Value: value})
			}
		}
		sort.Slice(call.Other, func(a, b int) bool {
			oa, ob := rank(call.Other[a].Name), rank(call.Other[b].Name)
			if oa != ob {
				return oa < ob
			}
			return call.Other[a].Name < call.Other[b].Name
		})
		d.Calls = append(d.Calls, call)
		previous = sent
	}
	return d
}

func rank(name string) int {
	if r, ok := fieldOrder[name]; ok {
		return r
	}
	return 100
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"kind":     kindOf,
	"scalar":   scalar,
	"title":    title,
	"status":   statusText,
	"when":     when,
	"ms":       millis,
	"pathSeg":  url.PathEscape,
	"query":    url.QueryEscape,
	"eq0":      func(n int) bool { return n == 0 },
	"yen":      yen,
	"rawJSON":  rawJSON,
	"notEmpty": func(s string) bool { return s != "" },
}

// kindOf tells the generic renderer how to show a value: "map", "list",
// "empty" or "scalar".
func kindOf(v any) string {
	if v == nil {
		return "empty"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Len() == 0 {
			return "empty"
		}
		return "map"
	case reflect.Slice, reflect.Array:
		if rv.Len() == 0 {
			return "empty"
		}
		if _, ok := v.([]byte); ok {
			return "scalar"
		}
		return "list"
	case reflect.Struct:
		return "map"
	}
	return "scalar"
}

// scalar is a value as text; structs and other composites as JSON.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprint(x)
	case fmt.Stringer:
		return x.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// title makes a field name readable: "deviceStatusCode" → "Device status code".
func title(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case i == 0:
			b.WriteString(strings.ToUpper(string(r)))
		case r >= 'A' && r <= 'Z':
			b.WriteByte(' ')
			b.WriteString(strings.ToLower(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// statusText is a status code with the contract's text.
func statusText(v any) string {
	var code int
	switch x := v.(type) {
	case int:
		code = x
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return x.String()
		}
		code = int(n)
	case float64:
		code = int(x)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
	if text, ok := flow.StatusMessage(code); ok {
		return fmt.Sprintf("%d %s", code, text)
	}
	return fmt.Sprint(code)
}

// when formats a time, or a trace's RFC 3339 string, in UTC to the
// millisecond.
func when(v any) string {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format("2006-01-02 15:04:05.000Z")
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format("2006-01-02 15:04:05.000Z")
		}
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// millis formats a duration in milliseconds.
func millis(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%.3f ms", x)
	case json.Number:
		return x.String() + " ms"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// yen formats an amount with thousands separators.
func yen(v any) string {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case *int64:
		if x == nil {
			return "—"
		}
		n = *x
	default:
		return fmt.Sprint(v)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s + " yen"
}

// rawJSON shows an audit record's JSON indented; "—" for none.
func rawJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "—"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}
