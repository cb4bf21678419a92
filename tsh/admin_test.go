package tsh_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
)

func TestAdmin(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	card, err := s.admin.Card(ctx, issuerID, cardID)
	if err != nil || card.ProductCode != 1 || card.DeviceID != deviceID || card.Status != "ACTIVE" {
		t.Fatalf("seeded card %+v, %v", card, err)
	}
	p, err := s.admin.Purchase(ctx, issuerID, purchaseID)
	if err != nil || p.Amount != 500 || p.Status != "PENDING" {
		t.Fatalf("seeded purchase %+v, %v", p, err)
	}
	if _, err := s.client.Run(ctx, topUpOp, sampleCard(t), tsh.Options{}); err != nil {
		t.Fatal(err)
	}
	card, err = s.admin.Card(ctx, issuerID, cardID)
	if err != nil || card.LastKnownBalance == nil || *card.LastKnownBalance != 1500 {
		t.Errorf("card after the top-up %+v, %v; want last known balance 1500", card, err)
	}
	for _, on := range []bool{true, false} {
		if err := s.admin.PutBlacklist(ctx, issuerID, sampleIDm, on); err != nil {
			t.Errorf("PutBlacklist(%v): %v", on, err)
		}
	}
	if _, err := s.admin.PutPurchase(ctx, tsh.PurchaseSeed{IssuerID: issuerID, PurchaseID: "P2", CardID: cardID, Amount: -1, Kind: "TOPUP"}); !errors.Is(err, tsh.ErrAdmin) {
		t.Errorf("negative amount: %v, want ErrAdmin", err)
	}
	if _, err := s.admin.Card(ctx, issuerID, "nobody"); !errors.Is(err, tsh.ErrAdmin) {
		t.Errorf("missing card: %v, want ErrAdmin", err)
	}
}

func TestAdminToken(t *testing.T) {
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), AdminToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	seed := tsh.CardSeed{IssuerID: issuerID, CardID: cardID, ProductCode: 1}
	for _, tt := range []struct {
		token string
		ok    bool
	}{{"", false}, {"wrong", false}, {"s3cret", true}} {
		admin, err := tsh.NewAdmin(srv.AdminURL, tt.token, tsh.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = admin.PutCard(context.Background(), seed)
		if (err == nil) != tt.ok {
			t.Errorf("token %q: %v, want ok=%v", tt.token, err, tt.ok)
		}
	}
}

func TestNewClientRefusesBadURLs(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "::"} {
		if _, err := tsh.NewClient(raw, tsh.ClientOptions{}); !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("NewClient(%q): %v, want ErrConfig", raw, err)
		}
		if _, err := tsh.NewAdmin(raw, "", tsh.ClientOptions{}); !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("NewAdmin(%q): %v, want ErrConfig", raw, err)
		}
	}
}

func TestNewClientSpreadConfig(t *testing.T) {
	tests := []struct {
		name string
		urls []string
		ok   bool
	}{
		{"none", nil, false},
		{"one", []string{"http://127.0.0.1:1"}, true},
		{"two", []string{"http://127.0.0.1:1", "http://127.0.0.1:2/"}, true},
		{"not http", []string{"http://127.0.0.1:1", "ftp://127.0.0.1:2"}, false},
		{"different paths", []string{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b"}, false},
	}
	for _, tt := range tests {
		_, err := tsh.NewClientSpread(tt.urls, tsh.ClientOptions{})
		if ok := err == nil; ok != tt.ok {
			t.Errorf("%s: err %v, want ok %t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tt.name, err)
		}
	}
}
