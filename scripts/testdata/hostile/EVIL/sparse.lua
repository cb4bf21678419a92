-- far integer keys, each a slot of the array part if it were not capped.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local t = {}
        t[67108863] = 1
        for i = 1, 1e9 do t[i * 4096] = i end
      end,
      next = { { done = 0 } },
    },
  },
}
