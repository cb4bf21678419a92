// Package pgtest gives tests a PostgreSQL of their own: a fresh schema
// (Schema) or database (Database) on the server named by TES_TEST_POSTGRES,
// dropped when the test ends, so that tests run in parallel without seeing
// each other's rows.
//
// Without TES_TEST_POSTGRES a test that asks for one is skipped with a
// message saying how to run it (`. .ci/postgres.sh start`, which .ci/run
// does); with CI=true it fails instead, so that CI never passes by
// skipping.
//
// It is test support only: no production code imports it.
package pgtest
