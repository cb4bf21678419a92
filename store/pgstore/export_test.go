package pgstore

import "github.com/jackc/pgx/v5"

// WithTracer makes the store's connections report every statement to tr.
func WithTracer(o Options, tr pgx.QueryTracer) Options {
	o.tracer = tr
	return o
}
