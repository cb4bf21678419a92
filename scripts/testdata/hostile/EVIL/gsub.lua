-- gsub doubling a 1 MiB string.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "x"
        for _ = 1, 20 do s = s .. s end
        local out = s:gsub(".", "%0%0")
      end,
      next = { { done = 0 } },
    },
  },
}
