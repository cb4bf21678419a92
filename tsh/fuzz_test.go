package tsh_test

import (
	"testing"

	"github.com/tes-project/tes/tsh"
)

// FuzzParseFault: any text is refused or parsed into a fault whose String
// parses back to it.
func FuzzParseFault(f *testing.F) {
	for _, seed := range []string{"lose-after-write", "device-error:231@2", "duplicate@2", "pause:70s@2", "pause:1h@99999999999999999999", "device-error:@", ":@:@"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fault, err := tsh.ParseFault(text)
		if err != nil {
			return
		}
		again, err := tsh.ParseFault(fault.String())
		if err != nil || again != fault {
			t.Errorf("ParseFault(%q) = %+v, whose String %q parses to %+v, %v", text, fault, fault.String(), again, err)
		}
	})
}
