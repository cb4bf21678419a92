-- READ: read balance and history over an authenticated session, record the
-- balance in the ledger.
return {
  start = "ledger",
  steps = common.steps(
    common.ledger("poll"),
    common.poll("probe"),
    common.probe("auth"),
    common.auth("read"),
    common.read_card("checks", true),
    common.card_checks("report"),
    {
      report = {
        run = function(ctx)
          effect.record_balance{ balance = ctx.vars.balance, counter = ctx.vars.counter }
        end,
        next = { { done = 0, balance = "vars.balance" } },
      },
    }
  ),
}
