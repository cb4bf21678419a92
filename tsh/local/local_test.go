package local_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/tsh/local"
)

// TestCloseRightAfterStart: a Close that races the listeners' start must
// still stop them (it once hung for ever), and Close is idempotent.
func TestCloseRightAfterStart(t *testing.T) {
	for range 20 {
		srv, err := local.Start(context.Background(), local.Config{DataDir: t.TempDir(), Flows: flowtest.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := http.Get(srv.AdminURL + "/healthz"); err == nil {
			t.Fatal("the admin app still answers after Close")
		}
	}
}

func TestStartServes(t *testing.T) {
	srv, err := local.Start(context.Background(), local.Config{DataDir: t.TempDir(), Flows: flowtest.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := http.Get(srv.AdminURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: HTTP %d", resp.StatusCode)
	}
}

func TestStartNeedsDataDir(t *testing.T) {
	if _, err := local.Start(context.Background(), local.Config{}); !errors.Is(err, local.ErrConfig) {
		t.Errorf("err %v, want ErrConfig", err)
	}
}
