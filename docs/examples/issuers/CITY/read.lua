-- READ: the purse's balance.
return {
  start = "ledger",
  steps = city.steps(city.start("report"), {
    report = {
      run = function(ctx)
        effect.record_balance{ balance = ctx.vars.balance, counter = ctx.vars.counter }
      end,
      next = { { done = 0, balance = "vars.balance" } },
    },
  }),
}
