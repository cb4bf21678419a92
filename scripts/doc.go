// Package scripts loads issuers' flows from their folders and runs them: a
// YAML manifest per issuer, Lua flow files made of named steps, and expr
// guards that choose where each step leads. It implements flow.Registry,
// flow.Issuer and flow.Catalog for the engine and the admin API.
//
// # Basics
//
// An issuer folder holds issuer.yaml (id, system code, framing, TTL, step
// time limit, settings, quirk rules, operations) and the Lua files it names.
// Everything is parsed, compiled and checked when the folder loads: Lua
// files to *lua.FunctionProto, every guard and quirk condition to an expr
// program against a typed environment. A load either succeeds whole or
// yields Problems ("file:line: message"); Check runs the same load without
// serving it.
//
// A Registry serves one version per issuer and swaps in a new one only
// when the whole folder loads: one apply function, under one lock, behind
// Open, Reload (admin API, SIGHUP), ReloadIssuer and Watch (fsnotify on the
// root and every folder of each issuer, debounced); Check runs the same
// read and compile without serving. A folder whose content hash did not
// change is skipped. A failed reload keeps the previous version serving and
// shows its first problem in Statuses. Every version is stored (sources)
// before it serves, so that Pinned can give a session the version it
// started on, after any number of reloads and across a restart.
//
// A Step decodes the device's answers with the felica codec, runs the
// step's Lua on a pooled, sandboxed state, evaluates the step's guards in
// order and follows the first that holds: to another step, to a final
// status, or to a failure. Ledger facts are read lazily, only those a step
// uses.
//
// # Caveats
//
// A pooled Lua state keeps its globals between steps of different sessions:
// flows must keep session data in ctx.vars, never in globals. A state that
// raised an error or ran out of time is dropped, not pooled again.
//
// The step's context is checked between Lua instructions and, inside the
// builtins that can run long (patterns, gsub, table.sort, table.concat),
// every 1024 units of work: a cancelled step stops within a millisecond or
// so and its state is dropped. gopher-lua cannot cap memory, so no single
// call may allocate much: the loader turns every `..` into a call of a
// builtin that refuses results past 1 MiB (maxLuaString), as do
// table.concat, gsub and format; a table's array part stops at 2^20; the
// sandbox removes string.rep and the loaders. Growth made of many small
// steps (a table filled in a loop) is left to the engine's memory monitor,
// which cancels the steps' contexts.
//
// A step that fails (ErrScript) is counted per issuer in Statuses through
// Registry.RecordRuntimeError, unless the caller's context was done, which
// is the engine's to record.
//
// An issuer folder is read and watched by one walk (walkIssuer) that
// refuses symlinks leaving the issuers root, symlink loops and folders past
// 256 files, 8 MiB, 1024 names or 8 levels: a load error of that issuer.
//
// Versions that no longer serve stay in memory for pinned sessions, at most
// 16, least recently used dropped first; a dropped one is recompiled from
// the store when a session needs it, and without a store it is gone. The
// store keeps every version's sources: nothing deletes them yet.
//
// A removed issuer folder stops new operations at once (Current fails);
// Pinned still serves its versions, so that operations under way can end,
// provided the engine looks the issuer up only when an operation starts.
//
// This package is not the session logic (engine), not storage (store) and
// not the frame codec (felica).
package scripts
