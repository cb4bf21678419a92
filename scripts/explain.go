package scripts

import (
	"fmt"
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
// none or the guard is not there.
func explain(machine *vm.VM, ops []operand, env any) string {
	if len(ops) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		out, err := runExpr(machine, op.prog, env)
		value := fmt.Sprint(out)
		if err != nil {
			value = "?"
		}
		if len(value) > maxValueText {
			value = value[:maxValueText] + "…"
		}
		parts = append(parts, op.src+"="+value)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
