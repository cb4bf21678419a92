package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store/pgstore"
	"github.com/tes-project/tes/store/pgstore/pgtest"
	"github.com/tes-project/tes/tsh"
	"github.com/tes-project/tes/tsh/bench"
)

// recorder keeps the first arguments of every distinct statement the
// store's connections run.
type recorder struct {
	mu    sync.Mutex // guards seen and order
	seen  map[string][]any
	order []string
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[data.SQL]; !ok {
		r.seen[data.SQL] = slices.Clone(data.Args)
		r.order = append(r.order, data.SQL)
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestRequestQueriesUseIndexes runs every operation of the DEMO issuer
// through a real node on PostgreSQL, then the sweeper, records each
// statement they ran, and EXPLAINs it: no plan may read a table whole,
// by a sequential scan or an index scan without an index condition. The
// EXPLAIN runs with enable_seqscan off, which makes the planner take any
// index that can serve a query, however small the table (on a small one it
// would rightly prefer a sequential scan); a Seq Scan left in a plan, or an
// index walked without a condition, therefore means that no index can
// serve the query, and it would read the whole table once it is big.
func TestRequestQueriesUseIndexes(t *testing.T) {
	url := pgtest.Database(t)
	rec := &recorder{seen: map[string][]any{}}
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.WithTracer(pgstore.Options{MaxConns: 4}, rec))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := node.Start(ctx, node.Config{Store: st, IssuersDir: "../../issuers"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	runEveryOperation(t, n)
	if _, err := n.Engine.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	explained := 0
	for _, sql := range rec.order {
		if !isRequestQuery(sql) {
			continue
		}
		explained++
		var plan []byte
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, rec.seen[sql]...).Scan(&plan); err != nil {
			t.Errorf("EXPLAIN %s: %v", sql, err)
			continue
		}
		if scans := seqScans(t, plan); len(scans) > 0 {
			t.Errorf("sequential scan of %s in the plan of\n%s\n%s", strings.Join(scans, ", "), sql, plan)
		}
	}
	if explained < 15 {
		t.Errorf("only %d statements explained: the operations did not run", explained)
	}
	t.Logf("%d statements explained", explained)
}

// isRequestQuery tells the statements of requests, admin calls and sweeps
// from the migrations' and the transactions' own.
func isRequestQuery(sql string) bool {
	s := strings.ToUpper(strings.TrimSpace(sql))
	for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if strings.HasPrefix(s, p) {
			return !strings.Contains(s, "SCHEMA_MIGRATIONS") && !strings.Contains(s, "PG_ADVISORY") &&
				!strings.Contains(s, "CURRENT_SCHEMA")
		}
	}
	return false
}

// seqScans lists the relations a JSON plan reads whole: sequentially, or
// through an index without a condition on it.
func seqScans(t *testing.T, plan []byte) []string {
	t.Helper()
	var doc []struct{ Plan map[string]any }
	if err := json.Unmarshal(plan, &doc); err != nil {
		t.Fatalf("plan: %v", err)
	}
	var out []string
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		switch node["Node Type"] {
		case "Seq Scan":
			out = append(out, fmt.Sprint(node["Relation Name"]))
		case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
			// With sequential scans off, the planner may walk a whole
			// index instead: as bad.
			if _, ok := node["Index Cond"]; !ok {
				out = append(out, fmt.Sprintf("%v (the whole index %v)", node["Relation Name"], node["Index Name"]))
			}
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if m, ok := c.(map[string]any); ok {
				walk(m)
			}
		}
	}
	for _, d := range doc {
		walk(d.Plan)
	}
	return out
}

// runEveryOperation runs a few of each DEMO operation on two devices.
func runEveryOperation(t *testing.T, n *node.Node) {
	t.Helper()
	client, err := tsh.NewClient(n.GatewayURL, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	admin, err := tsh.NewAdmin(n.AdminURL, "", tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	phone, _ := cat.Image("012E4C7A11223344")
	physical, _ := cat.Image("0101120012345678")
	mix, err := bench.ParseMix("TOPUP=2,READ,REFUND,PARK,READER_MODE")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(context.Background(), bench.Config{
		Client: client, Admin: admin, IssuerID: "DEMO", Devices: 2, Mix: mix, Count: 20, Amount: 1,
		Layout: cat.Layout, Phone: phone, Physical: physical, RunID: "ix",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Operations == 0 {
		t.Fatalf("no operation ran: %+v", rep.Errors)
	}
}
