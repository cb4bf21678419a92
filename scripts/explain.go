package scripts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// The trace explains a guard by the values it read (CONTRACT.md §2.1):
// "purchase: vars.balance + purchase.amount > settings.maxBalance
// (vars.balance=19800, purchase.amount=500, settings.maxBalance=20000) →
// fail 163". The values are those of the guard's operands: every name and
// every chain of fields it reads (vars.balance, resp.read.blocks), compiled
// on their own when the guard loads.

// maxOperands bounds how many operands of one guard the trace shows.
const maxOperands = 8

// maxValueText bounds one operand's value in the trace.
const maxValueText = 64

// operand is one value a guard reads.
type operand struct {
	src  string
	prog *vm.Program
}

// operandsOf compiles the operands of a compiled guard against env. An
// operand that does not compile alone (it never should) is left out: the
// trace then shows fewer values, the guard is unchanged.
func operandsOf(prog *vm.Program, env any) []operand {
	var srcs []string
	node := prog.Node()
	ast.Walk(&node, operandVisitor{srcs: &srcs})
	var ops []operand
	for _, src := range srcs {
		if len(ops) == maxOperands {
			break
		}
		p, err := compileExpr(src, env, guardAny)
		if err != nil {
			continue
		}
		ops = append(ops, operand{src: src, prog: p})
	}
	return ops
}

// operandVisitor collects, in order and once each, the identifiers and
// field chains of an expression that are not part of a longer chain and
// not functions.
type operandVisitor struct{ srcs *[]string }

func (v operandVisitor) Visit(node *ast.Node) {
	var src string
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if !isChain(n) {
			return
		}
		src = n.String()
	case *ast.IdentifierNode:
		src = n.Value
	default:
		return
	}
	// ast.Walk visits children first: a chain's inner parts come before
	// it, and are dropped for it.
	kept := (*v.srcs)[:0]
	for _, s := range *v.srcs {
		if !strings.HasPrefix(src, s+".") && !strings.HasPrefix(src, s+"[") {
			kept = append(kept, s)
		}
	}
	*v.srcs = kept
	for _, s := range *v.srcs {
		if s == src {
			return
		}
	}
	*v.srcs = append(*v.srcs, src)
}

// isChain: n reads fields by constant names or indexes from a name.
func isChain(n *ast.MemberNode) bool {
	switch n.Property.(type) {
	case *ast.StringNode, *ast.IntegerNode:
	default:
		return false
	}
	switch inner := n.Node.(type) {
	case *ast.IdentifierNode:
		return true
	case *ast.MemberNode:
		return isChain(inner)
	}
	return false
}

// explain renders the operands' values for the trace, "" when there are
// none or the guard is not there. The guards of one step read one env, so
// an operand that several of them read (vars.status, request.operation)
// has one value: known holds the values rendered so far in this step.
func explain(machine *vm.VM, ops []operand, env any, known *operandValues) string {
	if len(ops) == 0 {
		return ""
	}
	size := 3
	for _, op := range ops {
		size += len(op.src) + 8
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(" (")
	for i, op := range ops {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(op.src)
		b.WriteByte('=')
		b.WriteString(known.of(machine, op, env))
	}
	b.WriteByte(')')
	return b.String()
}

// operandValues are the rendered values of the first operands one step's
// guards have read, looked up by their source; kept in arrays, so that a
// step's values cost no allocation of their own.
type operandValues struct {
	src, text [maxKnownOperands]string
	n         int
}

// maxKnownOperands bounds the operands a step remembers: a step's guards
// read a dozen at most in the flows seen so far; past it they are
// evaluated again.
const maxKnownOperands = 24

// of returns op's value as the trace shows it, evaluating it the first
// time.
func (k *operandValues) of(machine *vm.VM, op operand, env any) string {
	if i := slices.Index(k.src[:k.n], op.src); i >= 0 {
		return k.text[i]
	}
	text := "?"
	if out, err := runExpr(machine, op.prog, env); err == nil {
		text = valueText(out)
	}
	if len(text) > maxValueText {
		text = text[:maxValueText] + "…"
	}
	if k.n < maxKnownOperands {
		k.src[k.n], k.text[k.n] = op.src, text
		k.n++
	}
	return text
}

// valueText is fmt.Sprint(v), without fmt's reflection for the values
// guards read most.
func valueText(v any) string {
	switch v := v.(type) {
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return v
	case nil:
		return "<nil>"
	}
	return fmt.Sprint(v)
}
