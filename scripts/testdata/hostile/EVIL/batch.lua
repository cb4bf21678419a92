-- a giant command batch.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        for i = 1, 1e6 do felica.polling{ as = "p" .. i, system = 0x80DE } end
      end,
      next = { { done = 0 } },
    },
  },
}
