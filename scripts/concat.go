package scripts

import (
	"reflect"

	luaast "github.com/yuin/gopher-lua/ast"
)

var (
	exprType       = reflect.TypeOf((*luaast.Expr)(nil)).Elem()
	concatExprType = reflect.TypeOf(&luaast.StringConcatOpExpr{})
)

// rewriteConcat replaces every `..` of a parsed chunk with a call of the
// concatName builtin (luaConcat), one call per chain: gopher-lua's own
// concatenation is a single VM instruction with no limit, which the step's
// context cannot interrupt. Load time only.
func rewriteConcat(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			rewriteConcat(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Type() == exprType && v.CanSet() && v.Elem().Type() == concatExprType {
			v.Set(reflect.ValueOf(concatCall(v.Interface().(*luaast.StringConcatOpExpr))))
		}
		rewriteConcat(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				rewriteConcat(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			rewriteConcat(v.Index(i))
		}
	}
}

// concatCall is the call that stands for the chain c: concat(a, b, c) for
// a .. b .. c, its operands in source order.
func concatCall(c *luaast.StringConcatOpExpr) *luaast.FuncCallExpr {
	fn := &luaast.IdentExpr{Value: concatName}
	fn.SetLine(c.Line())
	fn.SetLastLine(c.LastLine())
	call := &luaast.FuncCallExpr{Func: fn, Args: concatOperands(c, nil)}
	call.SetLine(c.Line())
	call.SetLastLine(c.LastLine())
	return call
}

func concatOperands(e luaast.Expr, out []luaast.Expr) []luaast.Expr {
	if c, ok := e.(*luaast.StringConcatOpExpr); ok {
		return concatOperands(c.Rhs, concatOperands(c.Lhs, out))
	}
	return append(out, e)
}
