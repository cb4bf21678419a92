package scripts_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

var discard = slog.New(slog.DiscardHandler)

func openBolt(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{GroupCommit: 2 * time.Millisecond})
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newEngine(t testing.TB, st store.Store, reg flow.Registry, clk clock.Clock) *engine.Engine {
	t.Helper()
	eng, err := engine.New(engine.Config{Store: st, Flows: reg, Clock: clk, Logger: discard})
	must(t, err)
	return eng
}

// device plays a phone and the TSH: it runs READs of its own card through
// the engine.
type device struct {
	id, cardID string
	card       *card.Card
}

// newDevice is device n with its own card: the adult sample under an IDm
// of its own, since one physical card has one open operation at a time.
func newDevice(t testing.TB, n int) device {
	t.Helper()
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(adult)
	if !ok {
		t.Fatalf("no sample card %s", adult)
	}
	img.IDm[6], img.IDm[7] = byte(n>>8), byte(n)
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return device{id: fmt.Sprintf("dev-%03d", n), cardID: fmt.Sprintf("card-%03d", n), card: c}
}

func (d device) request() engine.Request {
	return engine.Request{Endpoint: flow.EndpointCard, ActorID: "tsh", IssuerID: "DEMO", CardID: d.cardID, DeviceID: d.id}
}

// answer sends the card's answers to the reply's batch.
func (d device) answer(ctx context.Context, eng *engine.Engine, reply engine.Reply) (engine.Reply, error) {
	req := d.request()
	for _, cmd := range reply.Commands {
		frame, err := d.card.Transceive(ctx, cmd.Frame)
		if err != nil && !errors.Is(err, card.ErrNoAnswer) {
			return engine.Reply{}, fmt.Errorf("%s: card: %w", d.id, err)
		}
		req.Responses = append(req.Responses, engine.Response{CommandID: cmd.ID, Frame: frame})
	}
	return eng.Handle(ctx, req), nil
}

// read runs one READ to its end and returns the last reply.
func (d device) read(ctx context.Context, eng *engine.Engine) (engine.Reply, error) {
	reply := eng.Handle(ctx, d.request())
	for calls := 1; len(reply.Commands) > 0; calls++ {
		if calls > 10 {
			return reply, fmt.Errorf("%s: READ did not end in 10 calls", d.id)
		}
		var err error
		if reply, err = d.answer(ctx, eng, reply); err != nil {
			return reply, err
		}
	}
	return reply, nil
}

func putCards(t testing.TB, st store.Store, devices []device) {
	t.Helper()
	must(t, st.Update(context.Background(), func(tx store.Tx) error {
		for _, d := range devices {
			c := store.Card{IssuerID: "DEMO", CardID: d.cardID, Status: store.CardActive, ProductCode: 1, DeviceID: d.id, Expiry: "2030-12-31"}
			if err := tx.PutCard(c); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sessionsOf lists the device's sessions, each with its trace in Trace.
func sessionsOf(t testing.TB, st store.Store, deviceID string) []store.Session {
	t.Helper()
	var list []store.Session
	must(t, st.View(context.Background(), func(tx store.Tx) error {
		var err error
		if list, _, err = tx.SearchSessions(store.SessionQuery{IssuerID: "DEMO", DeviceID: deviceID}); err != nil {
			return err
		}
		for i := range list {
			if list[i].Trace, err = tx.SessionTrace(list[i].ID); err != nil {
				return err
			}
		}
		return nil
	}))
	return list
}

// ranOn checks that every call of a session ran on the session's version:
// the marked READ leaves a mark* decision in each call's trace, the
// original none.
func ranOn(s store.Session, markedVersion string) error {
	if s.State != store.SessionEnded || s.LastReply.StatusCode != 0 {
		var last []string
		if n := len(s.Trace); n > 0 {
			last = s.Trace[n-1].Decisions
		}
		return fmt.Errorf("session %s: %s %s status %d, last decisions %q", s.ID, s.State, s.EndReason, s.LastReply.StatusCode, last)
	}
	if len(s.Trace) != 3 {
		return fmt.Errorf("session %s: %d calls, want 3", s.ID, len(s.Trace))
	}
	marked := s.Version == markedVersion
	for i, e := range s.Trace {
		hasMark := slices.ContainsFunc(e.Decisions, func(d string) bool { return strings.HasPrefix(d, "mark") })
		if hasMark != marked {
			return fmt.Errorf("session %s on %.8s: call %d ran the other version: %q", s.ID, s.Version, i+1, e.Decisions)
		}
	}
	return nil
}

func TestSessionFinishesOnItsVersionAcrossARestart(t *testing.T) {
	ctx := context.Background()
	root := copyDemo(t, "50ms", "", nil)
	dbPath := filepath.Join(t.TempDir(), "tes.db")
	clk := clock.NewFake(now)
	d := newDevice(t, 1)

	st := openBolt(t, dbPath)
	putCards(t, st, []device{d})
	reg, err := scripts.Open(ctx, scripts.Config{Dir: root, Store: st, Clock: clk})
	must(t, err)
	original, _ := reg.Current("DEMO")
	first := newEngine(t, st, reg, clk).Handle(ctx, d.request())
	if first.StatusCode != 0 || len(first.Commands) != 1 {
		t.Fatalf("first call: %+v", first)
	}
	must(t, st.Close())

	// While the server is down the folder changes; it restarts on it.
	must(t, os.WriteFile(filepath.Join(root, "DEMO", "read.lua"), []byte(markedRead), 0o644))
	st = openBolt(t, dbPath)
	reg, err = scripts.Open(ctx, scripts.Config{Dir: root, Store: st, Clock: clk})
	must(t, err)
	marked, _ := reg.Current("DEMO")
	if marked.Version() == original.Version() {
		t.Fatal("the changed folder kept its version")
	}
	eng := newEngine(t, st, reg, clk)

	reply := first
	for len(reply.Commands) > 0 {
		if reply, err = d.answer(ctx, eng, reply); err != nil {
			t.Fatal(err)
		}
	}
	if reply.StatusCode != 0 || reply.Balance == nil {
		t.Fatalf("the operation begun before the restart: %+v", reply)
	}
	if _, err := d.read(ctx, eng); err != nil {
		t.Fatal(err)
	}
	sessions := sessionsOf(t, st, d.id)
	if len(sessions) != 2 {
		t.Fatalf("%d sessions, want 2", len(sessions))
	}
	for _, s := range sessions {
		if err := ranOn(s, marked.Version()); err != nil {
			t.Error(err)
		}
	}
	for _, s := range sessions {
		want := marked.Version()
		if s.ID == first.SessionID {
			want = original.Version()
		}
		if s.Version != want {
			t.Errorf("session %s on version %.8s, want %.8s", s.ID, s.Version, want)
		}
	}
}

func TestStartUpWithAFolderThatDoesNotLoad(t *testing.T) {
	ctx := context.Background()
	for _, keptBefore := range []bool{true, false} {
		t.Run(map[bool]string{true: "the store has its last version", false: "nothing kept"}[keptBefore], func(t *testing.T) {
			root := copyDemo(t, "50ms", "", nil)
			must(t, os.CopyFS(filepath.Join(root, "ACME"), os.DirFS(filepath.Join(root, "DEMO"))))
			manifest := filepath.Join(root, "ACME", "issuer.yaml")
			data, err := os.ReadFile(manifest)
			must(t, err)
			must(t, os.WriteFile(manifest, []byte(strings.Replace(string(data), "id: DEMO", "id: ACME", 1)), 0o644))
			st := openBolt(t, filepath.Join(t.TempDir(), "tes.db"))
			var lastGood string
			if keptBefore {
				reg, err := scripts.Open(ctx, scripts.Config{Dir: root, Store: st})
				must(t, err)
				cur, _ := reg.Current("DEMO")
				lastGood = cur.Version()
			}
			must(t, os.WriteFile(filepath.Join(root, "DEMO", "read.lua"), []byte("return {\n  start = \n"), 0o644))

			clk := clock.NewFake(now)
			reg, err := scripts.Open(ctx, scripts.Config{Dir: root, Store: st, Clock: clk})
			if err != nil {
				t.Fatalf("Open refused to start: %v", err)
			}
			s, _ := status(reg, "DEMO")
			if !strings.HasPrefix(s.Error, "DEMO/read.lua:2: syntax error") || s.Version != lastGood {
				t.Errorf("status %+v, want version %q and the syntax error", s, lastGood)
			}
			if _, ok := reg.Current("ACME"); !ok {
				t.Error("another issuer did not load")
			}
			d := newDevice(t, 1)
			putCards(t, st, []device{d})
			reply, err := d.read(ctx, newEngine(t, st, reg, clk))
			must(t, err)
			switch {
			case keptBefore && reply.StatusCode != 0:
				t.Errorf("READ on the last version kept: %+v", reply)
			case !keptBefore && reply.StatusCode != flow.StatusUnknownIssuer:
				t.Errorf("READ with nothing to serve: %+v, want 113", reply)
			}
		})
	}
}

// TestReloadUnderLoad runs 100 devices' READs through the engine while the
// READ flow is rewritten and reloaded in a loop, alternating the original
// and the marked flow: no operation may fail, and each must run all its
// calls on one version.
func TestReloadUnderLoad(t *testing.T) {
	const devices = 100
	const run = 3 * time.Second
	ctx := context.Background()
	// A generous step limit: 100 devices share two cores under -race.
	root := copyDemo(t, "5s", "", nil)
	readFlow := filepath.Join(root, "DEMO", "read.lua")
	original, err := os.ReadFile(readFlow)
	must(t, err)
	st := openBolt(t, filepath.Join(t.TempDir(), "tes.db"))
	clk := clock.NewFake(now)
	reg, err := scripts.Open(ctx, scripts.Config{Dir: root, Store: st, Clock: clk, Debounce: 20 * time.Millisecond})
	must(t, err)
	startWatch(t, reg)
	must(t, replaceFile(readFlow, markedRead))
	must(t, reg.ReloadIssuer(ctx, "DEMO"))
	cur, _ := reg.Current("DEMO")
	markedVersion := cur.Version()

	eng := newEngine(t, st, reg, clk)
	all := make([]device, devices)
	for i := range all {
		all[i] = newDevice(t, i)
	}
	putCards(t, st, all)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ops, reloads atomic.Int64
	failures := make(chan error, devices+1)
	for _, d := range all {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				reply, err := d.read(ctx, eng)
				if err == nil && reply.StatusCode != 0 {
					err = fmt.Errorf("%s: READ ended %d %s", d.id, reply.StatusCode, reply.StatusMessage)
				}
				if err != nil {
					failures <- err
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Go(func() {
		contents := []string{string(original), markedRead}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if err := replaceFile(readFlow, contents[i%2]); err != nil {
				failures <- err
				return
			}
			if err := reg.ReloadIssuer(ctx, "DEMO"); err != nil {
				failures <- fmt.Errorf("reload %d: %w", i, err)
				return
			}
			reloads.Add(1)
		}
	})
	time.Sleep(run) // the length of the run, not a wait for an event
	close(stop)
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}

	perVersion := map[bool]int{}
	for _, d := range all {
		sessions := sessionsOf(t, st, d.id)
		if len(sessions) == 0 {
			t.Errorf("%s ran no operation", d.id)
		}
		for _, s := range sessions {
			if err := ranOn(s, markedVersion); err != nil {
				t.Error(err)
			}
			perVersion[s.Version == markedVersion]++
		}
	}
	t.Logf("%d READs by %d devices in %v while the flow was reloaded %d times; %d sessions on the marked version, %d on the original",
		ops.Load(), devices, run, reloads.Load(), perVersion[true], perVersion[false])
	if perVersion[true] == 0 || perVersion[false] == 0 || reloads.Load() < 5 {
		t.Error("the run did not mix versions: reloads too rare for the test to mean anything")
	}
}
