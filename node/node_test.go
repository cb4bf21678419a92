package node_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/node"
)

// TestCloseRightAfterStart: a Close that races the listeners' start must
// still stop them (it once hung for ever), and Close is idempotent.
func TestCloseRightAfterStart(t *testing.T) {
	for range 20 {
		srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), Flows: flowtest.NewRegistry()})
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
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), Flows: flowtest.NewRegistry()})
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
	if _, err := node.Start(context.Background(), node.Config{}); !errors.Is(err, node.ErrConfig) {
		t.Errorf("err %v, want ErrConfig", err)
	}
}

func TestStoreChoice(t *testing.T) {
	tests := []struct {
		name string
		cfg  node.Config
		want error
	}{
		{"bbolt without a data directory", node.Config{}, node.ErrConfig},
		{"unknown scheme", node.Config{StoreURL: "mysql://u:secret@h/db"}, node.ErrConfig},
		{"bbolt", node.Config{DataDir: t.TempDir()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := node.OpenStore(context.Background(), tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("OpenStore: %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the password: %v", err)
			}
			if st != nil {
				if err := st.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestFailedQuietAfterClose: stopping the listeners in Close is not a
// failure.
func TestFailedQuietAfterClose(t *testing.T) {
	n, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), Flows: flowtest.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-n.Failed():
		t.Errorf("Failed after Close: %v", err)
	default:
	}
}
