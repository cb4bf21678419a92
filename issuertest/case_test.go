package issuertest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/issuertest"
)

func TestParseFile(t *testing.T) {
	const ok = "card: { sample: A }\nrun: [ { operation: READ, expect: { status: 0 } } ]\n"
	tests := []struct {
		name string
		data string
		want string // "" : parses
	}{
		{"one case", "name: a\n" + ok, ""},
		{"two documents", "name: a\n" + ok + "---\nname: b\n" + ok, ""},
		{"default name", ok, ""},
		{"unknown key", "name: a\ncolour: red\n" + ok, "t.yaml:2: unknown field colour"},
		{"no run", "name: a\ncard: { sample: A }\n", "t.yaml:1: a: run: at least one operation"},
		{"no status", "name: a\ncard: { sample: A }\nrun: [ { operation: READ } ]\n", "run[1]: expect.status is required"},
		{"no card", "name: a\nrun: [ { operation: READ, expect: { status: 0 } } ]\n", "card: sample"},
		{"bad fault", "name: a\ncard: { sample: A }\nrun: [ { operation: READ, faults: [ explode ], expect: { status: 0 } } ]\n", `faults[0]`},
		{"device error on the first call", "name: a\ncard: { sample: A }\nrun: [ { operation: READ, faults: [ \"device-error:231@1\" ], expect: { status: 0 } } ]\n", "round trip 1, want 2 or more"},
		{"bad wait", "name: a\ncard: { sample: A }\nrun: [ { operation: READ, wait: soon, expect: { status: 0 } } ]\n", `wait "soon"`},
		{"bad now", "name: a\nnow: yesterday\n" + ok, `now "yesterday"`},
		{"bad kind", "name: a\nledger: { purchases: [ { id: P, amount: 1, kind: GIFT } ] }\n" + ok, `kind "GIFT"`},
		{"uncertain without counter", "name: a\nledger: { purchases: [ { id: P, amount: 1, kind: TOPUP, status: UNCERTAIN } ] }\n" + ok, "expectedCounter"},
		{"bad block", "name: a\ncard: { idm: \"0102030405060708\", blocks: { info: [ \"00\" ] } }\nrun: [ { operation: READ, expect: { status: 0 } } ]\n", "blocks.info[0]: want 32 hex digits"},
		{"bad set", "name: a\ncard: { sample: A, set: [ { service: info, offset: 15, hex: \"0102\" } ] }\nrun: [ { operation: READ, expect: { status: 0 } } ]\n", "do not fit a block"},
		{"bad pattern", "name: a\n" + ok + "after: { card: { blocks: { info: [ \"zz\" ] } } }\n", "after.card.blocks.info[0]"},
		{"bad balance", "name: a\ncard: { sample: A }\nrun: [ { operation: READ, expect: { status: 0, balance: lots } } ]\n", "balance: want an integer or none"},
		{"bad endpoint", "name: a\ncard: { sample: A }\nrun: [ { endpoint: getCoffee, expect: { status: 0 } } ]\n", `endpoint "getCoffee"`},
		{"not yaml", "name: [\n", "t.yaml:"},
		{"empty", "", "no test case"},
		{"a list", "- 1\n- 2\n", "t.yaml:1: cannot construct !!seq"},
		{"second document bad", "name: a\n" + ok + "---\nname: b\ncard: { sample: A }\n", "t.yaml:5: b: run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases, err := issuertest.ParseFile("t.yaml", []byte(tt.data))
			if tt.want == "" {
				if err != nil || len(cases) == 0 {
					t.Fatalf("got %v, %v", cases, err)
				}
				for _, c := range cases {
					if c.Name == "" || c.File != "t.yaml" || c.Line == 0 {
						t.Errorf("case %+v: name, file or line missing", c)
					}
				}
				return
			}
			if err == nil || !errors.Is(err, issuertest.ErrCase) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseFileLines(t *testing.T) {
	data := "# a comment\nname: a\ncard: { sample: A }\nrun: [ { operation: READ, expect: { status: 0 } } ]\n---\n\nname: b\ncard: { sample: A }\nrun: [ { operation: READ, expect: { status: 0 } } ]\n"
	cases, err := issuertest.ParseFile("t.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].Line != 2 || cases[1].Line != 7 {
		t.Fatalf("cases at %d and %d, want 2 and 7", cases[0].Line, cases[1].Line)
	}
}

// FuzzParseFile: no input makes the parser panic or hang, and a parsed case
// is valid by the parser's own rules (named, placed, with operations).
func FuzzParseFile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(issuersDir, "DEMO", "tests", "*.yaml"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := issuertest.ParseFile("f.yaml", data)
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Name == "" || c.Line <= 0 || len(c.Run) == 0 {
				t.Fatalf("parsed an invalid case %+v", c)
			}
			for _, r := range c.Run {
				if r.Expect.Status == nil {
					t.Fatalf("case %q: an operation without expect.status", c.Name)
				}
			}
		}
	})
}
