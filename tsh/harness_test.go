package tsh_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
)

const (
	issuerID   = "DEMO"
	cardID     = "C1"
	deviceID   = "D1"
	purchaseID = "P1"
	actorID    = "TSH-TEST"
	sampleIDm  = "012E4C7A11223344" // the DEMO sample card with 1000 yen
)

var epoch = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// Service codes of the DEMO layout.
const (
	balanceRW felica.NodeCode = 0x1009
	balanceRO felica.NodeCode = 0x100B
)

// stack is an in-process server whose DEMO issuer runs topUp, a Go flow.
type stack struct {
	srv    *node.Node
	client *tsh.Client
	admin  *tsh.Admin
	clock  *clock.Fake
	issuer *flowtest.Issuer

	mu     sync.Mutex // guards inputs
	inputs []flow.Input
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{clock: clock.NewFake(epoch)}
	s.issuer = flowtest.NewIssuer(issuerID, "v1", s.topUp)
	srv, err := node.Start(context.Background(), node.Config{
		DataDir: t.TempDir(), Flows: flowtest.NewRegistry(s.issuer), Clock: s.clock,
	})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	s.srv = srv
	if s.client, err = tsh.NewClient(srv.GatewayURL, tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.client.CloseIdleConnections)
	if s.admin, err = tsh.NewAdmin(srv.AdminURL, "", tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.admin.PutCard(ctx, tsh.CardSeed{IssuerID: issuerID, CardID: cardID, ProductCode: 1, DeviceID: deviceID}); err != nil {
		t.Fatalf("seed card: %v", err)
	}
	if _, err := s.admin.PutPurchase(ctx, tsh.PurchaseSeed{IssuerID: issuerID, PurchaseID: purchaseID, CardID: cardID, Amount: 500, Kind: "TOPUP"}); err != nil {
		t.Fatalf("seed purchase: %v", err)
	}
	return s
}

// topUpState is what topUp keeps between steps.
type topUpState struct {
	Stage   int
	IDm     felica.IDm
	Balance uint32
}

// topUp is a small TOPUP: Polling, read the balance, write balance+500,
// done. A missing answer fails the operation with 911. It records its
// inputs.
func (s *stack) topUp(_ context.Context, in flow.Input) (flow.Result, error) {
	s.mu.Lock()
	s.inputs = append(s.inputs, in)
	s.mu.Unlock()
	var st topUpState
	if in.State != nil {
		if err := json.Unmarshal(in.State, &st); err != nil {
			return flow.Result{}, err
		}
	}
	for _, r := range in.Responses {
		if len(r) == 0 {
			return flow.Result{Step: "lost", Status: flow.StatusOperationFailed, Message: "no answer"}, nil
		}
	}
	var frame []byte
	var err error
	switch st.Stage {
	case 0:
		frame, err = felica.PollingCommand{SystemCode: 0x80DE, RequestCode: felica.RequestSystemCode}.Append(nil, felica.WithLEN)
	case 1:
		var poll felica.PollingResponse
		if poll, err = felica.ParsePollingResponse(in.Responses[0], felica.WithLEN); err != nil {
			return flow.Result{}, err
		}
		st.IDm = poll.IDm
		frame, err = felica.ReadCommand{IDm: st.IDm, Services: []felica.NodeCode{balanceRO}, Blocks: []felica.BlockElement{{}}}.Append(nil, felica.WithLEN)
	case 2:
		var read felica.ReadResponse
		if read, err = felica.ParseReadResponse(in.Responses[0], felica.WithLEN, st.IDm); err != nil {
			return flow.Result{}, err
		}
		st.Balance = binary.LittleEndian.Uint32(read.Block(0)) + 500
		block := make([]byte, felica.BlockSize)
		binary.LittleEndian.PutUint32(block, st.Balance)
		frame, err = felica.WriteCommand{IDm: st.IDm, Services: []felica.NodeCode{balanceRW}, Blocks: []felica.BlockElement{{}}, Data: block}.Append(nil, felica.WithLEN)
	default:
		balance := int64(st.Balance)
		return flow.Result{Step: "done", Status: flow.StatusOK, Balance: &balance,
			Effects: []flow.Effect{{Kind: flow.RecordBalance, Balance: balance, Counter: 8}}}, nil
	}
	if err != nil {
		return flow.Result{}, err
	}
	st.Stage++
	state, err := json.Marshal(st)
	return flow.Result{State: state, Step: fmt.Sprint("stage ", st.Stage), Commands: [][]byte{frame}}, err
}

// sampleCard is a fresh copy of the DEMO sample card with 1000 yen.
func sampleCard(t *testing.T) *card.Card {
	t.Helper()
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(sampleIDm)
	if !ok {
		t.Fatalf("no sample card %s", sampleIDm)
	}
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func balanceOf(t *testing.T, c *card.Card) uint32 {
	t.Helper()
	b, err := c.Block("balance", 0)
	if err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint32(b)
}

var topUpOp = tsh.Operation{
	Endpoint: flow.EndpointCard, IssuerID: issuerID, Operation: "TOPUP", CardID: cardID,
	PurchaseID: purchaseID, DeviceID: deviceID, ActorID: actorID,
}
