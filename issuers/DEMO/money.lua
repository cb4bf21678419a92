-- TOPUP and REFUND: move a purchase's amount onto or off the card, exactly
-- once. The balance block and its history record travel in one Write,
-- which the card applies all or nothing.
return {
  start = "ledger",
  steps = common.steps(
    common.ledger("poll"),
    common.poll("read"),
    common.read_card("checks", false),
    common.card_checks("purchase"),
    {
      purchase = {
        next = {
          { when = "!purchase.found || purchase.cardId != request.cardId", fail = 911, message = "no such purchase for this card" },
          { when = "purchase.status == 'APPLIED' || vars.settled == 'APPLIED'", fail = 911, message = "purchase already applied" },
          { when = "purchase.kind != request.operation", fail = 911, message = "purchase is of another kind" },
          { when = "request.operation == 'TOPUP' && vars.product == settings.productStaff", fail = 163, message = "staff cards may not top up" },
          { when = "request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance", fail = 163, message = "top-up would pass the maximum balance" },
          { when = "request.operation == 'REFUND' && purchase.amount > vars.balance", fail = 162 },
          { go = "write" },
        },
      },

      write = {
        run = function(ctx)
          local v, p = ctx.vars, ledger.purchase()
          local change, kind = p.amount, common.TOPUP
          if ctx.request.operation == "REFUND" then
            change, kind = -p.amount, common.REFUND
          end
          v.newBalance = v.balance + change
          v.newCounter = v.counter + 1
          felica.write{ as = "write", blocks = {
            { common.BALANCE_RW, 0, common.balance_block(v.newBalance, v.newCounter) },
            { common.HISTORY_RW, 0, common.history_record(kind, change, v.newBalance, v.newCounter, ctx.now) },
          } }
          effect.write_sent{ purchase = p.id, counter = v.newCounter }
        end,
        next = {
          { when = "resp.write.ok", go = "applied" },
          { when = "resp.write.answered && resp.write.valid", go = "refused" },
          { go = "verify" },
        },
      },

      -- verify: the write's answer was lost or garbled; the counter says
      -- whether the card applied it.
      verify = {
        run = function(ctx)
          felica.read{ as = "balance", blocks = { { common.BALANCE_RO, 0 } } }
        end,
        next = {
          { when = "resp.balance.ok && le(block(resp.balance, 0), 4, 2) == vars.newCounter && le(block(resp.balance, 0), 0, 4) == vars.newBalance", go = "applied" },
          { when = "resp.balance.ok && le(block(resp.balance, 0), 4, 2) < vars.newCounter", go = "refused" },
          { fail = 911, message = "cannot tell whether the write was applied" },
        },
      },

      applied = {
        run = function(ctx)
          effect.purchase_applied{ purchase = ctx.request.purchaseId }
          effect.record_balance{ balance = ctx.vars.newBalance, counter = ctx.vars.newCounter }
        end,
        next = { { done = 0, balance = "vars.newBalance" } },
      },

      refused = {
        run = function(ctx)
          effect.purchase_pending{ purchase = ctx.request.purchaseId }
        end,
        next = { { fail = 911, message = "card refused the write" } },
      },
    }
  ),
}
