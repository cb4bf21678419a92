package scripts

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// maxGuardNodes bounds the size of one guard or quirk condition.
const maxGuardNodes = 2000

// guardKind says what a compiled expression must yield.
type guardKind int

const (
	guardBool guardKind = iota
	guardInt
	guardAny // an operand of a guard, shown in the trace
)

// compileExpr compiles src against env with the helper table; a panic in
// the compiler is turned into an error.
func compileExpr(src string, env any, kind guardKind) (prog *vm.Program, err error) {
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("compiler failed: %v", p)
		}
	}()
	opts := append(helperOptions(), expr.Env(env), expr.MaxNodes(maxGuardNodes))
	switch kind {
	case guardBool:
		opts = append(opts, expr.AsBool())
	case guardInt:
		opts = append(opts, expr.AsInt())
	}
	prog, err = expr.Compile(src, opts...)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("%s", msg)
	}
	return prog, nil
}

// runExpr runs a compiled program on machine, which keeps its stack
// between runs (one goroutine at a time); a panic in the VM is an error.
func runExpr(machine *vm.VM, prog *vm.Program, env any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("guard failed: %v", p)
		}
	}()
	return machine.Run(prog, env)
}

// usage is what a compiled expression refers to: the ledger facts it needs
// and the settings and quirk parameters it names.
type usage struct {
	facts    factSet
	settings []string
	params   []string
}

type usageVisitor struct{ u *usage }

func (v usageVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		v.u.facts |= factNames[n.Value]
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		prop, isString := n.Property.(*ast.StringNode)
		if !ok || !isString {
			return
		}
		switch id.Value {
		case "settings":
			v.u.settings = append(v.u.settings, prop.Value)
		case "quirk":
			v.u.params = append(v.u.params, prop.Value)
		}
	}
}

func usageOf(prog *vm.Program) usage {
	var u usage
	node := prog.Node()
	ast.Walk(&node, usageVisitor{&u})
	return u
}
