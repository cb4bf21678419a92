-- a sort with an inconsistent comparator over a million values.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local t = {}
        for i = 1, 1e6 do t[i] = i end
        table.sort(t, function(a, b) return (a * 7919 + b) % 3 == 0 end)
      end,
      next = { { done = 0 } },
    },
  },
}
