-- Shared steps of the CITY flows.
city = {}

city.INFO = 0x004B    -- info, read-only, no key: [0] status 00 active, [1] product
city.PURSE_RO = 0x008B -- purse, read-only: [0..3] balance LE, [4..5] counter LE
city.PURSE_RW = 0x0089

-- steps(...) merges step tables.
function city.steps(...)
  local out = {}
  for _, part in ipairs({...}) do
    for name, step in pairs(part) do out[name] = step end
  end
  return out
end

-- start: the ledger card, then Polling for the issuer's system.
function city.start(next_step)
  return {
    ledger = {
      next = {
        { when = "!card.found", fail = 119 },
        { when = "card.status != 'ACTIVE'", fail = 159 },
        { go = "poll" },
      },
    },
    poll = {
      run = function(ctx) felica.polling{ as = "poll", system = ctx.system, request = 1 } end,
      next = {
        { when = "!resp.poll.answered || resp.poll.system != system", fail = 172 },
        { go = "read" },
      },
    },
    read = {
      run = function(ctx)
        felica.read{ as = "card", blocks = { { city.INFO, 0 }, { city.PURSE_RO, 0 } } }
      end,
      after = function(ctx)
        local c = ctx.resp.card
        if c.ok and #c.blocks == 2 then
          ctx.vars.status = bin.u8(c.blocks[1], 0)
          ctx.vars.balance = bin.le(c.blocks[2], 0, 4)
          ctx.vars.counter = bin.le(c.blocks[2], 4, 2)
        end
      end,
      next = {
        { when = "!resp.card.ok || len(resp.card.blocks) != 2", fail = 911, message = "card refused the read" },
        { when = "vars.status != 0", fail = 159, message = "card is not active" },
        { when = "len(card.uncertain) > 0", go = "settle" },
        { go = next_step },
      },
    },
    -- settle: a top-up whose answer was lost in an earlier operation is
    -- applied when the card's counter reached the one it would produce.
    settle = {
      run = function(ctx)
        for _, p in ipairs(ledger.card().uncertain) do
          if ctx.vars.counter >= p.expectedCounter then
            effect.purchase_applied{ purchase = p.id }
          else
            effect.purchase_pending{ purchase = p.id }
          end
        end
      end,
      next = { { go = next_step } },
    },
  }
end
