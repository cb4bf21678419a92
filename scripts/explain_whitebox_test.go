package scripts

import (
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"

	"github.com/tes-project/tes/flow"
)

// valueText skips fmt for the common kinds; the trace must not tell.
func TestValueTextIsFmtSprint(t *testing.T) {
	type status string
	for _, v := range []any{
		true, false, 0, -7, 1 << 40, int64(-1 << 62), "", "ACTIVE", nil,
		1.5, 1e20, 1e21, status("BLACKLISTED"), flow.Purchase{Amount: 5},
		[]int{1, 2}, []any{"a", nil}, map[string]any{"k": 1}, uint8(200), int32(-3),
	} {
		if got, want := valueText(v), fmt.Sprint(v); got != want {
			t.Errorf("valueText(%#v) = %q, fmt.Sprint gives %q", v, got, want)
		}
	}
}

// An operand read by several guards of a step is rendered once and shown
// by each; past maxKnownOperands operands are evaluated again, not lost.
func TestExplainRemembersOperandsOfAStep(t *testing.T) {
	type env struct {
		A, B int
		Long string
	}
	compile := func(srcs ...string) []operand {
		var ops []operand
		for _, src := range srcs {
			p, err := compileExpr(src, env{}, guardAny)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, operand{src: src, prog: p})
		}
		return ops
	}
	var machine vm.VM
	boxed := any(env{A: 1, B: 2, Long: strings.Repeat("x", maxValueText+1)})
	var known operandValues
	if got := explain(&machine, compile("A", "Long"), boxed, &known); got != " (A=1, Long="+strings.Repeat("x", maxValueText)+"…)" {
		t.Errorf("first guard: %q", got)
	}
	if got := explain(&machine, compile("B", "A"), boxed, &known); got != " (B=2, A=1)" || known.n != 3 {
		t.Errorf("second guard: %q, %d values known", got, known.n)
	}
	full := operandValues{n: maxKnownOperands}
	if got := explain(&machine, compile("A", "B"), boxed, &full); got != " (A=1, B=2)" || full.n != maxKnownOperands {
		t.Errorf("past the bound: %q, %d values known", got, full.n)
	}
	if got := explain(&machine, nil, boxed, &known); got != "" {
		t.Errorf("no operands: %q", got)
	}
}
