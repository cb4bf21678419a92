package scripts

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestLuaAnnotationsMatchModules: docs/lua/tes.lua (the editor's type
// annotations) declares exactly the functions the modules give flows.
func TestLuaAnnotationsMatchModules(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "docs", "lua", "tes.lua"))
	if err != nil {
		t.Fatal(err)
	}
	docs := lua.NewState()
	defer docs.Close()
	if err := docs.DoString(string(src)); err != nil {
		t.Fatalf("tes.lua does not run: %v", err)
	}
	r := &runner{L: newSandbox(), steps: map[stepKey]luaStep{}, flows: map[string]*lua.LTable{}, logger: slog.New(slog.DiscardHandler)}
	defer r.L.Close()
	r.openModules()
	for _, m := range modules {
		want, _ := r.L.GetGlobal(m).(*lua.LTable)
		got, _ := docs.GetGlobal(m).(*lua.LTable)
		if want == nil || got == nil {
			t.Fatalf("module %s: runtime %v, annotations %v", m, want != nil, got != nil)
		}
		if w, g := tableKeys(want), tableKeys(got); !equalStrings(w, g) {
			t.Errorf("module %s: runtime has %v, tes.lua declares %v", m, w, g)
		}
	}
	if _, ok := docs.GetGlobal("log").(*lua.LFunction); !ok {
		t.Error("tes.lua does not declare log")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
